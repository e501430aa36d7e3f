"""The report through the app: numbers against hand-computed values on the page, in the API and in the PDF;
who may see it; and a bounded number of queries however many people answered."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import event

from lti_app.errors import Conflict, NotFound
from lti_app.extensions import db
from lti_app.services.feedback import cycles, report, templates
from lti_app.services.feedback.answering import Answers
from tests.factories.core import ProgrammeFactory, actor_for, pair
from tests.factories.feedback import (
    add_raters,
    course_with_subject,
    enrol,
    items,
    open_questions,
    self_rater,
    start_cycle,
    submit,
)
from tests.functional.feedback.pages import launch_headers
from tests.support.launch import api_headers

DEFINITION = {
    "title": "Short 360",
    "competencies": [
        {
            "key": "communication",
            "title": "Communication",
            "items": [{"prompt": "Explains"}, {"prompt": "Listens"}],
        },
        {"key": "leadership", "title": "Leadership", "items": [{"prompt": "Owns outcomes"}]},
    ],
    "open_questions": [{"prompt": "What should they keep doing?"}],
}

# (group, [Explains, Listens, Owns outcomes]); None = not observed. The unit tests use the same figures.
ANSWERS = [
    ("self", [5, 4, 2]),
    ("peer", [3, 4, None]),
    ("peer", [2, 3, 4]),
    ("peer", [4, None, 5]),
    ("manager", [3, 3, 3]),
    ("direct_report", [1, 2, 4]),
    ("direct_report", [2, 2, 5]),
]
COMMENTS = ["Great listener", "Clear plans", "Always on time", "Calm under pressure"]


def run_cycle(setup, answers=ANSWERS, comments=COMMENTS, close=True, **kwargs):  # type: ignore[no-untyped-def]
    template = templates.create_template(db.session, setup.trainer_actor, setup.course.id, DEFINITION)
    cycle = start_cycle(setup, template_id=template.id, **kwargs)
    rating_ids = [i.id for i in items(cycle)]
    question = open_questions(cycle)[0].id
    comment_texts = iter(comments)
    for group, scores in answers:
        rater = self_rater(setup, cycle) if group == "self" else add_raters(setup, cycle, group, 1)[0]
        text = {question: next(comment_texts, "")} if group != "self" else {question: "I keep my promises"}
        submit(rater, Answers(dict(zip(rating_ids, scores, strict=True)), text))
    if close:
        cycles.close_cycle(db.session, setup.subject_actor, cycle.id)
    db.session.commit()
    return cycle


def test_report_numbers_match_hand_computation(app, client, db_session) -> None:
    setup = course_with_subject()
    cycle = run_cycle(setup)
    body = client.get(
        f"/api/v1/feedback/cycles/{cycle.id}/report", headers=api_headers(app, setup.subject_actor)
    ).get_json()
    assert body["groups"] == [
        {"key": "peer", "label": "Peers", "responses": 3},
        {"key": "combined", "label": "Others combined", "responses": 3},  # manager 1 + direct reports 2
    ]
    # Only two peers rated "Listens" and "Owns outcomes": those peer figures are hidden and their ratings
    # count nowhere (see the unit tests for the same figures by hand).
    comm, lead = body["competencies"]
    assert comm["self"] == 4.5 and comm["others"]["mean"] == 2.44  # 22 / 9
    assert comm["others"]["n"] == 9 and comm["others"]["not_observed"] == 0
    assert comm["gap"] == 2.06 and comm["flag"] == "blind_spot"  # 4.5 - 22/9 = 37/18
    explains, listens = comm["items"]
    assert explains["others"]["mean"] == 2.5 and explains["others"]["sd"] == 0.96  # sqrt(5.5 / 6)
    assert [g["mean"] for g in explains["groups"]] == [3.0, 2.0]
    assert listens["groups"][0] == {
        "key": "peer", "label": "Peers", "responses": 3, "n": 0, "mean": None, "sd": None,
        "not_observed": 0, "hidden": True,
    }
    assert listens["others"]["mean"] == 2.33 and listens["others"]["n"] == 3  # the combined group: 7 / 3
    assert listens["gap"] == 1.67 and listens["flag"] == "blind_spot"
    assert lead["self"] == 2.0 and lead["others"]["mean"] == 4.0 and lead["flag"] == "hidden_strength"
    assert lead["groups"][0]["hidden"] and lead["groups"][0]["mean"] is None
    assert body["overall"]["self"] == 3.67 and body["overall"]["others"]["mean"] == 2.83  # 34/12
    (comments,) = body["comments"]
    assert comments["shown"] and sorted(comments["comments"]) == sorted(COMMENTS)
    assert comments["self"] == ["I keep my promises"]

    page = client.get(f"/feedback/cycles/{cycle.id}/report", headers=launch_headers(app, setup.trainer_actor))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for figure in ("4.50", "2.44", "+2.06", "2.50", "0.96", "2.33", "4.00", "-2.00", "3.67", "2.83"):
        assert figure in html, figure
    assert "3.50" not in html  # the peers' hidden figure of "Listens"
    assert "Blind spot" in html and "Hidden strength" in html
    assert "<svg" in html and "Self 4.50" in html and "Others 2.44" in html  # labelled bars, no colour needed
    assert "Great listener" in html and "I keep my promises" in html


def test_pdf_has_the_figures(app, client, db_session) -> None:
    setup = course_with_subject()
    cycle = run_cycle(setup)
    response = client.get(
        f"/feedback/cycles/{cycle.id}/report.pdf", headers=launch_headers(app, setup.subject_actor)
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.data.startswith(b"%PDF") and len(response.data) > 2000
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert setup.subject.display_name in text
    for figure in ("4.50", "2.44", "+2.06", "2.50", "0.96", "4.00", "-2.00", "3.67", "2.83"):
        assert figure in text, figure
    for words in (
        "Blind spot",
        "Hidden strength",
        "Self 4.50",
        "Others 2.44",
        "Others combined",
        "Great listener",
    ):
        assert words in text, words


def test_before_and_after_comparison(app, client, db_session) -> None:
    setup = course_with_subject()
    programme = ProgrammeFactory(course=setup.course)
    relationship = pair(programme, enrol(setup.course), setup.subject)
    run_cycle(setup, phase="before", relationship_id=relationship.id)
    later = [(group, [None if s is None else min(s + 1, 5) for s in scores]) for group, scores in ANSWERS]
    after = run_cycle(setup, answers=later, phase="after", relationship_id=relationship.id, title="After")
    body = client.get(
        f"/api/v1/feedback/cycles/{after.id}/report", headers=api_headers(app, setup.subject_actor)
    ).get_json()
    comm, lead = body["comparison"]["competencies"]
    assert (comm["self_before"], comm["self_after"], comm["self_change"]) == (4.5, 5.0, 0.5)
    assert (comm["others_before"], comm["others_after"]) == (
        2.44,
        3.44,
    )  # every shown rating one higher (none capped): 22 / 9, then 31 / 9
    # Only the combined group's ratings count (two peers are too few): 3, 4, 5 then 4, 5, 5 (capped).
    assert lead["others_before"] == 4.0 and lead["others_after"] == 4.67
    page = client.get(f"/feedback/cycles/{after.id}/report", headers=launch_headers(app, setup.subject_actor))
    assert "Before and after" in page.get_data(as_text=True)


def test_report_waits_for_the_cycle_to_close(db_session) -> None:
    setup = course_with_subject()
    cycle = run_cycle(setup, close=False)
    with pytest.raises(Conflict) as refused:
        report.build_report(db_session, setup.subject_actor, cycle.id)
    assert refused.value.code == "report_not_ready"


def test_who_sees_the_report(app, client, db_session) -> None:
    setup = course_with_subject()
    cycle = run_cycle(setup)
    admin = actor_for(enrol(setup.course, is_platform_admin=True), None, "admin")
    for actor in (setup.subject_actor, setup.trainer_actor, admin):
        assert report.build_report(db_session, actor, cycle.id).results.others_responses == 6
    stranger = actor_for(enrol(setup.course), setup.course)
    with pytest.raises(NotFound):
        report.build_report(db_session, stranger, cycle.id)
    db_session.commit()
    assert (
        client.get(
            f"/feedback/cycles/{cycle.id}/report.pdf", headers=launch_headers(app, stranger)
        ).status_code
        == 404
    )


def count_queries():  # type: ignore[no-untyped-def]
    counter = {"n": 0}

    def before(*_args):  # type: ignore[no-untyped-def]
        counter["n"] += 1

    return counter, before


@pytest.mark.parametrize("peers", [3, 15])
def test_report_queries_do_not_grow_with_answers(app, client, db_session, peers) -> None:
    setup = course_with_subject()
    answers = [ANSWERS[0]] + [("peer", [3, 4, 5])] * peers
    cycle = run_cycle(setup, answers=answers, comments=[f"c{i}" for i in range(peers)])
    headers = launch_headers(app, setup.subject_actor)
    counter, before = count_queries()
    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        assert client.get(f"/feedback/cycles/{cycle.id}/report", headers=headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", before)
    # cycle, version, competencies, items, responses, comments, counterpart, subject, navigation: about ten.
    assert counter["n"] <= 12, counter["n"]
