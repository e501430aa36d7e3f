"""The report as a PDF (ReportLab): the same figures as the page, a bar chart readable in black and white
(self is solid, others striped, every bar labelled with its value), the tables, the before/after comparison
and the comments in their shuffled order."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from lti_app.services.feedback.report import CycleReport
from lti_app.services.feedback.scoring import BLIND_SPOT, HIDDEN_STRENGTH, Figures, format_number

FLAG_TEXT = {BLIND_SPOT: "Blind spot", HIDDEN_STRENGTH: "Hidden strength", None: ""}
PHASE_TEXT = {"before": "Before the relationship", "after": "After the relationship", "standalone": ""}


fmt = format_number


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {
        "title": base["Title"],
        "h2": base["Heading2"],
        "h3": base["Heading3"],
        "body": base["BodyText"],
        "small": ParagraphStyle("small", parent=base["BodyText"], fontSize=8, leading=10),
        "cell": ParagraphStyle("cell", parent=base["BodyText"], fontSize=8, leading=10),
    }


def bar_chart(report: CycleReport, width: float = 170 * mm) -> Drawing:
    """One row per competency (and overall): a solid self bar and a striped others bar, each labelled."""
    rows = [("Overall", report.results.overall)] + [(c.title, c.figures) for c in report.results.competencies]
    label_w, value_w, bar_h, gap = 45 * mm, 28 * mm, 7, 6
    plot_w = width - label_w - value_w
    maximum = report.scale.maximum
    height = len(rows) * (2 * bar_h + gap) + 30
    drawing = Drawing(width, height)
    y = height - 10
    legend = f"Self: solid bar.  Others: striped bar.  Scale 0 to {maximum}."
    drawing.add(String(label_w, y, legend, fontSize=7))
    y -= 14
    for title, figures in rows:
        drawing.add(String(0, y - bar_h, title[:34], fontSize=8))
        self_at = (label_w, y - bar_h)
        _bar(drawing, self_at, plot_w, bar_h, figures.self_score, maximum, solid=True, tag="Self")
        _bar(drawing, (label_w, y - 2 * bar_h), plot_w, bar_h, figures.others.mean, maximum, solid=False,
             tag="Others")
        y -= 2 * bar_h + gap
    return drawing


def _bar(
    drawing: Drawing,
    origin: tuple[float, float],
    plot_w: float,
    h: float,
    value: float | None,
    maximum: int,
    *,
    solid: bool,
    tag: str,
) -> None:
    x, y = origin
    if value is None:
        drawing.add(String(x + 2, y + 1.5, f"{tag}: not shown", fontSize=7))
        return
    w = max(plot_w * value / maximum, 0.5)
    fill = colors.black if solid else colors.white
    drawing.add(Rect(x, y, w, h - 1, fillColor=fill, strokeColor=colors.black, strokeWidth=0.6))
    if not solid:
        step = 2.5
        position = x + step
        while position < x + w:
            drawing.add(Line(position, y, position, y + h - 1, strokeColor=colors.black, strokeWidth=0.4))
            position += step
    drawing.add(String(x + w + 3, y + 1.5, f"{tag} {fmt(value)}", fontSize=7))


def _figures_row(label: str, f: Figures, group_keys: list[str], style: ParagraphStyle) -> list[object]:
    groups = {g.key: g.stat for g in f.groups}
    cells: list[object] = [Paragraph(escape(label), style), fmt(f.self_score), fmt(f.others.mean)]
    cells.append(fmt(f.others.sd))
    cells += [fmt(groups[k].mean) if k in groups else "-" for k in group_keys]
    cells += [fmt(f.gap, signed=True), FLAG_TEXT[f.flag]]
    return cells


def _table(rows: list[list[object]], header_rows: int = 1, bold_first: bool = False) -> Table:
    table = Table(rows, repeatRows=header_rows, hAlign="LEFT")
    commands = [
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (1, 1), (-1, -1), "CENTER"),
    ]
    if bold_first:
        commands.append(("FONTNAME", (0, 1), (-1, 1), "Helvetica-Bold"))
    table.setStyle(TableStyle(commands))
    return table


def render_report_pdf(report: CycleReport) -> bytes:
    styles = _styles()
    cycle, results = report.cycle, report.results
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
        bottomMargin=16 * mm, title=f"360 feedback: {report.subject_name}", author="Tandem",
    )
    story: list[object] = [
        Paragraph(escape(f"360 feedback report: {report.subject_name}"), styles["title"]),
        Paragraph(
            escape(
                f"{cycle.title} · {report.course_title} · "
                f"{cycle.opens_at:%d %b %Y} to {cycle.closes_at:%d %b %Y}"
                + (f" · {PHASE_TEXT[cycle.phase]}" if PHASE_TEXT.get(cycle.phase) else "")
            ),
            styles["body"],
        ),
        Paragraph(
            escape(
                f"Responses from others shown: {results.others_responses}. Groups with fewer than "
                f"{report.policy.threshold} responses are combined as \"Others combined\", or left out when "
                "still too few. \"Not observed\" is left out of averages, and a group's figure for a "
                f"question is shown only when at least {report.policy.threshold} of its people rated it. "
                "Spread is the standard deviation. "
                f"A gap of more than {float(report.scale.gap_threshold):.2f} points is a blind spot (rated "
                "higher by oneself than by others) or a hidden strength (rated lower)."
            ),
            styles["small"],
        ),
        Spacer(1, 4 * mm),
        bar_chart(report),
        Spacer(1, 4 * mm),
    ]
    group_keys = [b.key for b in results.plan.buckets]
    header: list[object] = ["Competency", "Self", "Others", "Spread"]
    header += [b.label for b in results.plan.buckets] + ["Gap", "Flag"]
    summary: list[list[object]] = [header]
    summary.append(_figures_row("Overall", results.overall, group_keys, styles["cell"]))
    summary += [_figures_row(c.title, c.figures, group_keys, styles["cell"]) for c in results.competencies]
    story += [Paragraph("Summary", styles["h2"]), _table(summary, bold_first=True), Spacer(1, 3 * mm)]
    if results.plan.buckets:
        counts = ", ".join(f"{b.label}: {b.responses}" for b in results.plan.buckets)
        story.append(Paragraph(escape(f"Responses per group shown: {counts}."), styles["small"]))
    for competency in results.competencies:
        rows: list[list[object]] = [["Item", *header[1:]]]
        rows += [_figures_row(i.prompt, i.figures, group_keys, styles["cell"]) for i in competency.items]
        story.append(KeepTogether([Paragraph(escape(competency.title), styles["h3"]), _table(rows)]))
    if report.changes:
        changes: list[list[object]] = [
            ["Competency", "Self before", "Self after", "Change", "Others before", "Others after", "Change"]
        ]
        changes += [
            [Paragraph(escape(ch.title), styles["cell"]), fmt(ch.self_before), fmt(ch.self_after),
             fmt(ch.self_change, signed=True), fmt(ch.others_before), fmt(ch.others_after),
             fmt(ch.others_change, signed=True)]
            for ch in report.changes
        ]
        story += [Paragraph("Before and after", styles["h2"]), _table(changes)]
    story.append(Paragraph("Comments", styles["h2"]))
    for block in results.comments:
        story.append(Paragraph(escape(block.prompt), styles["h3"]))
        if block.self_comments:
            for text in block.self_comments:
                story.append(Paragraph(escape(f"Self: {text}"), styles["body"]))
        if block.shown:
            story += [Paragraph(escape(f"\u2022 {text}"), styles["body"]) for text in block.comments]
        else:
            story.append(
                Paragraph(
                    escape(
                        f"Not shown: fewer than {report.policy.comment_threshold} people "
                        "answered this question."
                    ),
                    styles["small"],
                )
            )
    doc.build(story)
    return buffer.getvalue()

