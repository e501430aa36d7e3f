"""Safe Markdown: what people write renders; nothing they write can run."""

from __future__ import annotations

import pytest

from lti_app.domain.markdown import render_markdown
from tests.functional.diary.support import assert_inert

ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD4=)",
    "[vb](vbscript:msgbox(1))",
    "<iframe src=//evil.test></iframe>",
    "![pixel](https://tracker.test/p.gif)",
    '<a href="https://x.test" onclick="steal()">x</a>',
    "<style>body{display:none}</style>",
    "<!-- comment --><b>bold</b>",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_each_attack_stays_inert(attack: str) -> None:
    html = str(render_markdown(attack))
    assert_inert(html)
    for tag in ("<script", "<iframe", "<img", "<svg", "<style", "<b>"):
        assert tag not in html


def test_what_people_use_renders() -> None:
    html = str(
        render_markdown(
            "# Plan\n\n- **one**\n- *two*\n\n> quote\n\n`code` ~~old~~ [site](https://example.org)"
        )
    )
    for fragment in (
        "<h1>Plan</h1>",
        "<strong>one</strong>",
        "<em>two</em>",
        "<blockquote>",
        "<code>code</code>",
        "<s>old</s>",
    ):
        assert fragment in html
    assert '<a href="https://example.org" rel="noopener nofollow">site</a>' in html


def test_tables_and_mail_links() -> None:
    html = str(render_markdown("| a | b |\n|---|---|\n| 1 | 2 |\n\n[me](mailto:me@example.org)"))
    assert "<table>" in html and "<td>1</td>" in html
    assert 'href="mailto:me@example.org"' in html


def test_empty_and_huge_input() -> None:
    assert str(render_markdown("")) == "" and str(render_markdown(None)) == ""
    assert len(str(render_markdown("x" * 300_000))) < 110_000
