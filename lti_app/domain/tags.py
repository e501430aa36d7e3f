"""Skills, interests and topics are free tags; normalising them is what makes search and matching work
("Public  Speaking", "public speaking" and "public-speaking" are one skill)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_SPACES = re.compile(r"[\s_]+")
_SEPARATORS = re.compile(r"[,;\n]")
MAX_TAG_LENGTH = 60


def normalise_tag(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw).strip().casefold()
    text = _SPACES.sub(" ", text.replace("-", " "))
    return text[:MAX_TAG_LENGTH].strip()


def normalise_tags(values: Iterable[str] | str | None) -> list[str]:
    """Normalised, de-duplicated, order kept. Accepts a list or one comma/semicolon/newline-separated
    string (as LTI custom parameters and form fields send them)."""
    if values is None:
        return []
    items = _SEPARATORS.split(values) if isinstance(values, str) else list(values)
    seen: dict[str, None] = {}
    for item in items:
        tag = normalise_tag(str(item))
        if tag:
            seen.setdefault(tag, None)
    return list(seen)
