"""Every launch Tandem must refuse: a clear 4xx page saying what was wrong, nothing written, a log line
with the request id and no personal data, never a 500.

Each case starts from a genuine login (real state, real nonce) and spoils one thing, re-signing with the
platform's real key wherever the signature is not the point (``tests/platform/bad_launches.py``).
"""

from __future__ import annotations

import html
import logging
import time

import pytest
from flask import Flask

from lti_app.demo_lms import vocab
from lti_app.demo_lms.platform import sign_id_token
from tests.platform import BAD_LAUNCH_CASES, LaunchFlow, TestPlatform, bad_launch, drive_launch
from tests.platform.bad_launches import unverified_claims

from .conftest import TOOL_URL, register
from .support import landed, row_counts

# What the page must say for each case (the error code on the page, see templates/error.html).
EXPECTED_CODES = {
    "tampered_signature": "bad_signature",
    "unknown_kid": "unknown_key",
    "alg_none": "bad_algorithm",
    "hs256_public_key": "bad_algorithm",
    "expired": "token_expired",
    "future_iat": "token_not_yet_valid",
    "wrong_aud": "unknown_platform",  # an aud naming another client id is another (unknown) tool
    "wrong_iss": "unknown_platform",
    "wrong_nonce": "nonce_mismatch",
    "replayed": "replayed_launch",
    "missing_state": "missing_state",
    "wrong_state": "unknown_state",
    "unknown_deployment": "unknown_deployment",
    "missing_iss": "missing_claim",
    "missing_aud": "missing_claim",
    "missing_exp": "missing_claim",
    "missing_iat": "missing_claim",
    "missing_nonce": "nonce_mismatch",
    "missing_deployment_id": "missing_claim",
    "missing_message_type": "missing_claim",
    "missing_version": "wrong_version",
    "missing_roles": "missing_claim",
    "missing_resource_link": "missing_claim",
    "wrong_message_type": "unsupported_message_type",
    "wrong_version": "wrong_version",
    "malformed_token": "malformed_token",
    "oversized_body": "too_large",
}


def test_every_case_has_an_expected_code() -> None:
    assert set(EXPECTED_CODES) == set(BAD_LAUNCH_CASES)


@pytest.mark.parametrize("case", BAD_LAUNCH_CASES)
def test_bad_launch_is_refused_cleanly(app: Flask, client, moodle: TestPlatform, case: str, caplog) -> None:
    sam = moodle.add_user(given_name="Zebediah", family_name="Quux", email="zeb@example.com")
    course = moodle.add_course(title="Private course title")
    moodle.enrol(sam, course, "learner")

    with caplog.at_level(logging.INFO):
        responses = bad_launch(client, moodle, sam, course, case, all_responses=True)
        if case == "replayed":
            landed(app, responses[0])  # the genuine post goes through; its replay must not
            before = row_counts()
        else:
            before = row_counts()
        response = responses[-1]

    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:1500]
    page = response.get_data(as_text=True)
    assert f'data-error-code="{EXPECTED_CODES[case]}"' in page, page[:3000]
    request_id = response.headers["X-Request-Id"]
    assert request_id in page
    assert row_counts() == before
    refusals = [r for r in caplog.records if r.name in ("tandem.launch", "tandem.errors")]
    assert refusals, "the refusal must be logged"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for personal in ("Zebediah", "Quux", "zeb@example.com", "Private course title"):
        assert personal not in logged


def test_refusals_write_nothing_even_on_a_first_launch(app: Flask, client, moodle: TestPlatform) -> None:
    sam = moodle.add_user()
    course = moodle.add_course()
    before = row_counts()

    response = bad_launch(client, moodle, sam, course, "expired")

    assert response.status_code == 400
    after = row_counts()
    # The login's own state and nonce are the only rows, and they were there before the launch post.
    assert {k: v for k, v in after.items() if k != "cache_entry (not jwks)"} == {
        k: v for k, v in before.items() if k != "cache_entry (not jwks)"
    }


def test_login_from_an_unknown_lms_names_it(app: Flask, client, lti_platform: TestPlatform) -> None:
    lti_platform.add_tool(TOOL_URL)
    sam = lti_platform.add_user()
    course = lti_platform.add_course()
    initiation = lti_platform.launch(sam, course)

    response = client.post("/lti/login", base_url=TOOL_URL, data=initiation.params)

    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "is not registered with Tandem" in page
    assert lti_platform.issuer in page and lti_platform.config().client_id in page
    assert "Ask your LMS administrator to register it." in page


def test_login_with_an_unknown_deployment_names_it(app: Flask, client, moodle: TestPlatform) -> None:
    sam = moodle.add_user()
    course = moodle.add_course()
    other = moodle.add_deployment()  # added on the platform, never registered in Tandem
    initiation = moodle.launch(sam, course, deployment_id=other.deployment_id)

    response = client.post("/lti/login", base_url=TOOL_URL, data=initiation.params)

    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert 'data-error-code="unknown_deployment"' in page
    assert f"Deployment {other.deployment_id!r} of this LMS" in html.unescape(page)


def test_login_without_issuer_or_login_hint(app: Flask, client) -> None:
    response = client.post("/lti/login", base_url=TOOL_URL, data={"login_hint": "4"})
    assert response.status_code == 400
    assert 'data-error-code="missing_issuer"' in response.get_data(as_text=True)
    response = client.get("/lti/login", base_url=TOOL_URL, query_string={"iss": "https://lms.test"})
    assert response.status_code == 400
    assert 'data-error-code="missing_login_hint"' in response.get_data(as_text=True)


def test_inactive_registration_is_refused(app: Flask, client, lti_platform: TestPlatform) -> None:
    lti_platform.add_tool(TOOL_URL)
    register(lti_platform, active=False)
    sam = lti_platform.add_user()
    initiation = lti_platform.launch(sam, lti_platform.add_course())

    response = client.post("/lti/login", base_url=TOOL_URL, data=initiation.params)

    assert response.status_code == 403
    assert 'data-error-code="platform_inactive"' in response.get_data(as_text=True)


def test_launch_post_without_id_token(app: Flask, client) -> None:
    response = client.post("/lti/launch", base_url=TOOL_URL, data={"state": "state-x"})
    assert response.status_code == 400
    assert 'data-error-code="missing_id_token"' in response.get_data(as_text=True)


def test_platform_error_answer_is_a_clear_4xx(app: Flask, client, moodle: TestPlatform) -> None:
    """OIDC Core §3.1.2.6: a platform may post ``error`` back instead of an id_token."""
    response = client.post(
        "/lti/launch", base_url=TOOL_URL, data={"error": "login_required", "state": "state-x"}
    )
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert 'data-error-code="platform_refused"' in page
    assert "login_required" in page


def test_state_cookie_missing_explains_blocked_cookies(app: Flask, moodle: TestPlatform) -> None:
    sam = moodle.add_user()
    course = moodle.add_course()
    browser = app.test_client()
    flow = LaunchFlow(browser, moodle)
    auth = flow.authorize(flow.login(flow.start(sam, course)))
    browser.delete_cookie(
        f"lti1p3-{auth.state}", domain="tool.test", path="/lti/"
    )  # the LMS frame dropped it

    response = flow.post(auth.fields)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'data-error-code="state_cookie_missing"' in page
    assert "blocking cookies" in page


def test_token_from_another_login_in_this_browser_is_refused(
    app: Flask, client, moodle: TestPlatform
) -> None:
    """Two logins in one browser: the first login's state with the second login's token (its nonce belongs
    to the other state)."""
    sam = moodle.add_user()
    course = moodle.add_course()
    flow = LaunchFlow(client, moodle)
    first = flow.authorize(flow.login(flow.start(sam, course)))
    second = flow.authorize(flow.login(flow.start(sam, course)))

    response = flow.post({"id_token": second.id_token, "state": first.state})

    assert response.status_code == 400
    assert 'data-error-code="nonce_mismatch"' in response.get_data(as_text=True)


def test_moodle_sixty_second_token_within_leeway_is_accepted(
    app: Flask, client, moodle: TestPlatform
) -> None:
    """Clock skew: a token issued 30 s "in the future" (platform clock ahead) passes the leeway."""
    sam = moodle.add_user()
    course = moodle.add_course()
    skew = 30
    assert skew < app.extensions["tandem.settings"].jwt_leeway_seconds

    def skewed(fields: dict[str, str]) -> dict[str, str]:
        claims = unverified_claims(fields["id_token"])
        claims.update(iat=int(time.time()) + skew, exp=int(time.time()) + skew + 60)
        return {**fields, "id_token": sign_id_token(claims, moodle.signing_key)}

    landed(app, drive_launch(client, moodle, sam, course, fields_hook=skewed))


def test_unsupported_message_type_from_a_real_claim(app: Flask, client, moodle: TestPlatform) -> None:
    sam = moodle.add_user()
    course = moodle.add_course()
    response = bad_launch(client, moodle, sam, course, "missing_claim", claim=vocab.CLAIM_CONTEXT)
    # No context: a learner cannot use Tandem outside a course; the page says so.
    assert response.status_code == 400
    assert 'data-error-code="missing_context"' in response.get_data(as_text=True)


def test_deep_linking_from_a_platform_that_refuses_resource_links_says_so(
    app: Flask, client, moodle: TestPlatform
) -> None:
    from lti_app.demo_lms.platform import DeepLinkingSettings

    terry = moodle.add_user()
    course = moodle.add_course()
    moodle.enrol(terry, course, "instructor")
    before = row_counts()

    response = drive_launch(
        client, moodle, terry, course, "deep_linking",
        deep_linking=DeepLinkingSettings(accept_types=("file", "html")),
    )

    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert 'data-error-code="resource_link_not_accepted"' in page
    assert (
        "This LMS does not accept LTI resource links from deep linking (it accepts: file, html). "
        "Tandem can only be added as an LTI resource link."
    ) in page
    # Nothing but the login's own state and nonce, written before the launch post.
    after = row_counts()
    assert {k: v for k, v in after.items() if k != "cache_entry (not jwks)"} == {
        k: v for k, v in before.items() if k != "cache_entry (not jwks)"
    }
