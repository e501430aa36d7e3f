"""In production a platform registers by URL only with an operator's invitation: a signed code, valid
seven days, in the registration URL (``/lti/register?invite=…``). Without one, anyone could register
platforms, each added to the frame and form lists of every page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from lti_app.cli import main
from lti_app.models.registration import Registration
from lti_app.services import dynamic_registration as dr
from tests.functional.registration.support import register

WEEK = 7 * 24 * 3600


@pytest.fixture()
def production(app: Flask) -> Iterator[None]:
    settings = app.extensions["tandem.settings"]
    app.extensions["tandem.settings"] = settings.with_overrides(env="production")
    try:
        yield
    finally:
        app.extensions["tandem.settings"] = settings


def invitations(app: Flask, **kwargs: Any) -> dr.Invitations:
    return dr.Invitations(app.extensions["tandem.settings"].secret_key, **kwargs)


def nothing_happened(httpserver, db_session) -> bool:  # type: ignore[no-untyped-def]
    """No call left Tandem and nothing was stored."""
    return httpserver.log == [] and db_session.query(Registration).count() == 0


@pytest.mark.usefixtures("production")
def test_without_an_invitation_production_refuses_before_calling_the_lms(
    client, db_session, httpserver, moodle
) -> None:
    moodle["serve_config"]()
    moodle["serve_registration"]()
    response = register(client, moodle)
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert 'data-error-code="invitation_required"' in page and "tandem platform invite" in page
    assert nothing_happened(httpserver, db_session)


@pytest.mark.usefixtures("production")
def test_a_forged_or_expired_invitation_is_refused(app, client, db_session, httpserver, moodle) -> None:
    forged = dr.Invitations("another-secret-key-that-is-long-enough-012345").issue()
    response = register(client, moodle, invite=forged)
    assert response.status_code == 403 and b'data-error-code="invitation_invalid"' in response.data
    stale = invitations(app, clock=lambda: time.time() - WEEK - 60).issue()
    response = register(client, moodle, invite=stale)
    assert response.status_code == 403 and b'data-error-code="invitation_expired"' in response.data
    assert nothing_happened(httpserver, db_session)


@pytest.mark.usefixtures("production")
def test_a_valid_invitation_opens_the_door(app, client, moodle) -> None:
    # The door only: this loopback Moodle is plain http, which production refuses next.
    response = register(client, moodle, invite=invitations(app).issue())
    assert response.status_code == 422 and b"https" in response.data


def test_outside_production_the_invitation_is_optional_but_checked_when_given(
    app, client, db_session, httpserver, moodle
) -> None:
    moodle["serve_config"]()
    moodle["serve_registration"]()
    refused = register(client, moodle, invite="not-an-invitation")
    assert refused.status_code == 403 and nothing_happened(httpserver, db_session)
    assert register(client, moodle, invite=invitations(app).issue()).status_code == 200
    assert register(client, moodle).status_code == 200


def test_an_invitation_for_one_lms_does_not_register_another(
    app, client, db_session, httpserver, moodle
) -> None:
    moodle["serve_config"]()
    moodle["serve_registration"]()
    elsewhere = invitations(app).issue(issuer="https://moodle.elsewhere.test")
    response = register(client, moodle, invite=elsewhere)
    assert response.status_code == 403 and b'data-error-code="invitation_other_platform"' in response.data
    assert nothing_happened(httpserver, db_session)
    here = invitations(app).issue(issuer=moodle["origin"] + "/")
    assert register(client, moodle, invite=here).status_code == 200


def test_the_cli_prints_the_url_to_paste_into_the_lms(app, client, moodle) -> None:
    result = app.test_cli_runner().invoke(
        main, ["platform", "invite", "--issuer", moodle["origin"]], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    url = next(word for word in result.output.split() if word.startswith("http://tool.test/lti/register?"))
    code = parse_qs(urlsplit(url).query)["invite"][0]
    assert invitations(app).check(code).issuer == moodle["origin"]
    assert "7 days" in result.output


def test_the_cli_refuses_an_issuer_that_is_not_a_url(app) -> None:
    result = app.test_cli_runner().invoke(main, ["platform", "invite", "--issuer", "moodle"])
    assert result.exit_code != 0 and "--issuer" in result.output
