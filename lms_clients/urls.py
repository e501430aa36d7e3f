"""URL surgery for service endpoints that already carry a query string.

Moodle's service URLs look like ``…/services.php/2/lineitems/2/lineitem?type_id=1``: the ``type_id``
identifies the tool type and must survive when we add filters or append ``/scores``, or Moodle cannot
match the request to the tool. String concatenation gets this wrong, so every URL change goes through
these helpers.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from requests.utils import parse_header_links


def merge_query(url: str, params: Mapping[str, object | None]) -> str:
    """Return ``url`` with ``params`` added to its query; ``None`` values are skipped, and a key given in
    ``params`` replaces the same key already in the URL (other existing keys keep their order)."""
    wanted = {k: str(v) for k, v in params.items() if v is not None}
    if not wanted:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in wanted]
    query.extend(wanted.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def append_path(url: str, segment: str) -> str:
    """``…/lineitem?type_id=1`` + ``scores`` → ``…/lineitem/scores?type_id=1``.

    LTI AGS 2.0, Score publish service: the scores URL is the line item URL with ``/scores`` appended to
    its path, the query kept.
    """
    parts = urlsplit(url)
    path = parts.path.rstrip("/") + "/" + segment.strip("/")
    return urlunsplit(parts._replace(path=path, fragment=""))


def link_urls(link_header: str | None, base_url: str) -> dict[str, str]:
    """Parse an RFC 8288 ``Link`` header into ``{rel: absolute url}``.

    Used for paging in NRPS 2.0 (``rel="next"`` and ``rel="differences"``) and LTI AGS 2.0
    (``rel="next"``). A link may carry several space-separated relation types.
    """
    if not link_header:
        return {}
    found: dict[str, str] = {}
    for link in parse_header_links(link_header):
        target = link.get("url", "").strip()
        if not target:
            continue
        for rel in link.get("rel", "").split():
            found.setdefault(rel.lower(), urljoin(base_url, target))
    return found
