"""Helpers for page tests: open a page inside a launch, post its forms with the tokens the page carries,
and check rendered HTML for anything that could run script."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from tests.support.launch import launch_token

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LT = re.compile(r'name="lt" value="([^"]+)"')


class Browser:
    """One person's visit: the launch token they carry and the CSRF token their last page gave them.

    Each request runs in its own app context, as in production: the test's own context would otherwise be
    reused by every request, and ``g`` (which caches the CSRF and launch tokens) would leak between people.
    """

    def __init__(self, client: Any, app: Any, actor: Any) -> None:
        self.client, self.app, self.token, self.csrf = client, app, launch_token(app, actor), None

    def get(self, url: str, **kw: Any) -> Any:
        with self.app.app_context():
            response = self.client.get(url, query_string={"lt": self.token, **kw})
        self._remember(response)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True) -> Any:
        if csrf and self.csrf is None:
            raise AssertionError("open a page with a form first")
        form = {"lt": self.token, **({"csrf_token": self.csrf} if csrf else {}), **(data or {})}
        with self.app.app_context():
            response = self.client.post(url, data=form)
        self._remember(response)
        return response

    def _remember(self, response: Any) -> None:
        html = response.get_data(as_text=True)
        if (found := _CSRF.search(html)) is not None:
            self.csrf = found.group(1)
        if (found := _LT.search(html)) is not None:
            self.token = found.group(1)


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if (
                name.lower() in ("href", "src", "action", "formaction")
                and value
                and re.match(r"\s*(javascript|vbscript|data):", value, re.I)
            ):
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "script" and not (values.get("src") or "").startswith("/static/"):
            self.problems.append("<script> without a Tandem src")
        if tag in ("iframe", "object", "embed", "img"):
            self.problems.append(f"<{tag}>")
        if (
            tag == "a"
            and values.get("href", "").startswith("http")
            and "nofollow" not in (values.get("rel") or "")
        ):
            self.problems.append(f"external link without rel nofollow: {values.get('href')}")
        if tag == "form":
            self._form = {"method": (values.get("method") or "get").lower(), "fields": []}
            self.forms.append(self._form)
        if tag in ("input", "textarea", "select") and self._form is not None:
            self._form["fields"].append(values.get("name"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def audit(html: str) -> _Audit:
    parser = _Audit()
    parser.feed(html)
    return parser


def assert_inert(html: str) -> None:
    """Nothing in the page can run script: no handlers, no script URLs, no script tags but Tandem's."""
    found = audit(html)
    assert found.problems == [], found.problems


def assert_forms_carry_tokens(html: str) -> None:
    for form in audit(html).forms:
        if form["method"] == "post":
            assert "csrf_token" in form["fields"] and "lt" in form["fields"], form
