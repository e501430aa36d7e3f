"""Questionnaire definitions as plain data: validated from JSON (the API, the shipped default) or from the
short text format of the template page, and written back out. No database here.

JSON shape::

    {"title": "...", "description": "...",
     "scale": {"min": 1, "max": 5, "labels": ["...", ...], "not_observed": "Not observed" | null},
     "competencies": [{"key": "communication", "title": "...", "description": "...",
                       "items": [{"kind": "rating" | "open", "prompt": "..."}]}],
     "open_questions": [{"prompt": "..."}]}

Text shape (one line each; blank lines ignored)::

    # Communication          a competency (its key is made from the title)
    Explains ideas clearly   a rating item of the competency above
    ? What could improve?    an open question (of the competency above, or general before any "#")
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from lti_app.errors import ValidationFailed
from lti_app.models.feedback import ITEM_KINDS, OPEN, RATING

MAX_COMPETENCIES = 20
MAX_ITEMS = 100
MAX_PROMPT = 500
MAX_TITLE = 200


@dataclass(frozen=True)
class ItemDef:
    kind: str
    prompt: str


@dataclass(frozen=True)
class CompetencyDef:
    key: str
    title: str
    description: str
    items: tuple[ItemDef, ...]


@dataclass(frozen=True)
class TemplateDef:
    title: str
    description: str
    scale_min: int
    scale_max: int
    scale_labels: tuple[str, ...]
    not_observed: str | None
    competencies: tuple[CompetencyDef, ...]
    open_questions: tuple[ItemDef, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "description": self.description,
            "scale": {
                "min": self.scale_min,
                "max": self.scale_max,
                "labels": list(self.scale_labels),
                "not_observed": self.not_observed,
            },
            "competencies": [
                {
                    "key": c.key, "title": c.title, "description": c.description,
                    "items": [asdict(i) for i in c.items],
                }
                for c in self.competencies
            ],
            "open_questions": [{"prompt": q.prompt} for q in self.open_questions],
        }

    @property
    def content_hash(self) -> str:
        canonical = json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:80] or "competency"


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def parse_definition(raw: Mapping[str, Any]) -> TemplateDef:
    """Validate a JSON definition; every problem is named in the error's details."""
    problems: dict[str, str] = {}
    title = _text(raw.get("title"), MAX_TITLE)
    if not title:
        problems["title"] = "A template needs a title."
    scale = raw.get("scale") or {}
    if not isinstance(scale, Mapping):
        scale = {}
    minimum, maximum = scale.get("min", 1), scale.get("max", 5)
    valid = isinstance(minimum, int) and isinstance(maximum, int) and minimum >= 0
    if not (valid and 2 <= maximum - minimum <= 10):
        problems["scale"] = "The scale runs between two whole numbers, 3 to 11 points (e.g. 1 to 5)."
        minimum, maximum = 1, 5
    labels = tuple(_text(x, 100) for x in (scale.get("labels") or ()))
    if labels and len(labels) != maximum - minimum + 1:
        problems["scale.labels"] = f"Give one label per point of the scale ({maximum - minimum + 1})."
    if not labels:
        labels = tuple(str(v) for v in range(minimum, maximum + 1))
    not_observed = scale.get("not_observed", "Not observed")
    not_observed = _text(not_observed, 100) or None if not_observed is not None else None

    competencies: list[CompetencyDef] = []
    keys: set[str] = set()
    raw_competencies = raw.get("competencies") or []
    if not isinstance(raw_competencies, list) or not raw_competencies:
        problems["competencies"] = "Add at least one competency."
        raw_competencies = []
    if len(raw_competencies) > MAX_COMPETENCIES:
        problems["competencies"] = f"At most {MAX_COMPETENCIES} competencies."
    total_items = 0
    for index, entry in enumerate(raw_competencies[:MAX_COMPETENCIES]):
        where = f"competencies.{index}"
        entry = entry if isinstance(entry, Mapping) else {}
        c_title = _text(entry.get("title"), MAX_TITLE)
        key = slug(_text(entry.get("key"), 80) or c_title)
        if not c_title:
            problems[f"{where}.title"] = "Each competency needs a title."
        if key in keys:
            problems[f"{where}.key"] = f"Two competencies share the key {key!r}."
        keys.add(key)
        items = _items(entry.get("items"), where, problems)
        total_items += len(items)
        if not any(i.kind == RATING for i in items):
            problems[f"{where}.items"] = "Each competency needs at least one rating item."
        competencies.append(CompetencyDef(key, c_title, _text(entry.get("description"), 2000), tuple(items)))
    general = _items(
        [{"kind": OPEN, **q} if isinstance(q, Mapping) else q for q in (raw.get("open_questions") or [])],
        "open_questions", problems,
    )
    if any(i.kind != OPEN for i in general):
        problems["open_questions"] = "General questions are open questions."
    if total_items + len(general) > MAX_ITEMS:
        problems["items"] = f"At most {MAX_ITEMS} questions in one template."
    if problems:
        raise ValidationFailed("The questionnaire is not valid.", details=problems)
    return TemplateDef(
        title, _text(raw.get("description"), 2000), minimum, maximum, labels, not_observed,
        tuple(competencies), tuple(general),
    )


def _items(raw: Any, where: str, problems: dict[str, str]) -> list[ItemDef]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems[where] = "Questions come as a list."
        return []
    items = []
    for index, entry in enumerate(raw):
        entry = entry if isinstance(entry, Mapping) else {}
        kind = entry.get("kind", RATING)
        prompt = _text(entry.get("prompt"), MAX_PROMPT)
        if kind not in ITEM_KINDS:
            problems[f"{where}.items.{index}.kind"] = "A question is a rating item or an open question."
        if not prompt:
            problems[f"{where}.items.{index}.prompt"] = "Each question needs its text."
        items.append(ItemDef(kind if kind in ITEM_KINDS else RATING, prompt))
    return items


def parse_text(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Competencies and general open questions from the text format (validated later as JSON)."""
    competencies: list[dict[str, Any]] = []
    general: list[dict[str, Any]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            competencies.append({"title": line.lstrip("#").strip(), "items": []})
        elif line.startswith("?"):
            question = {"kind": OPEN, "prompt": line[1:].strip()}
            (competencies[-1]["items"] if competencies else general).append(question)
        elif competencies:
            competencies[-1]["items"].append({"kind": RATING, "prompt": line})
        else:
            raise ValidationFailed(
                "Start with a competency line (beginning with #) before its rating items.",
                details={"questions": line[:80]},
            )
    return competencies, general


def to_text(definition: TemplateDef) -> str:
    lines: list[str] = [f"? {q.prompt}" for q in definition.open_questions]
    for competency in definition.competencies:
        if lines:
            lines.append("")
        lines.append(f"# {competency.title}")
        lines.extend(i.prompt if i.kind == RATING else f"? {i.prompt}" for i in competency.items)
    return "\n".join(lines)
