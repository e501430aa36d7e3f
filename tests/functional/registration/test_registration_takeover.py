"""Dynamic registration never changes a platform Tandem already knows.

An (issuer, client id) pair is a tenant: whoever could rewrite its JWKS or login URL could sign launches
as anyone on that platform, Administrator included. The issuer check alone does not stop that: a JSON
file served from the LMS's own site (an upload, an open redirect) can name the LMS as issuer and put
every endpoint elsewhere, and that registration endpoint can answer the LMS's real client id.
"""

from __future__ import annotations

import json

from werkzeug import Response

from lti_app.models.registration import Deployment, Registration
from tests.factories.core import DeploymentFactory, RegistrationFactory
from tests.functional.registration.support import CAPTURED_CLIENT_ID, CONFIG_PATH, register


def _known_platform(origin: str, **overrides: object) -> Registration:
    """The platform as Tandem already stores it (endpoints as Moodle's own configuration names them)."""
    fields: dict[str, object] = {
        "issuer": origin,
        "client_id": CAPTURED_CLIENT_ID,
        "name": "Moodle (production)",
        "auth_login_url": origin + "/mod/lti/auth.php",
        "auth_token_url": origin + "/mod/lti/token.php",
        "key_set_url": origin + "/mod/lti/certs.php",
        "source": "manual",
        "platform_jwks": {"keys": [{"kid": "moodle-key"}]},
        **overrides,
    }
    registration = RegistrationFactory(**fields)
    DeploymentFactory(registration=registration, deployment_id="1")
    return registration


def test_a_configuration_moving_a_known_platforms_endpoints_is_refused(client, db_session, moodle) -> None:
    origin = moodle["origin"]
    known = _known_platform(origin)
    db_session.commit()
    forged = moodle["config"]()
    forged["authorization_endpoint"] = "http://evil.test/auth"
    forged["jwks_uri"] = "http://evil.test/jwks"
    forged["token_endpoint"] = "http://evil.test/token"
    moodle["serve_config"](forged)
    moodle["serve_registration"]()  # answers the known platform's real client id

    response = register(client, moodle)

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'data-error-code="already_registered"' in page
    assert "already registered with Tandem" in page and "tandem platform add" in page
    db_session.expire_all()
    stored = db_session.get(Registration, known.id)
    assert stored is not None
    assert stored.key_set_url == origin + "/mod/lti/certs.php"
    assert stored.auth_login_url == origin + "/mod/lti/auth.php"
    assert stored.auth_token_url == origin + "/mod/lti/token.php"
    assert stored.platform_jwks == {"keys": [{"kid": "moodle-key"}]}
    assert (stored.source, stored.name) == ("manual", "Moodle (production)")
    assert [d.deployment_id for d in stored.deployments] == ["1"], "no deployment added on a refusal"
    assert db_session.query(Registration).count() == 1


def test_changing_only_the_token_audience_is_refused_too(client, db_session, moodle) -> None:
    known = _known_platform(moodle["origin"])
    db_session.commit()
    forged = moodle["config"]()
    forged["authorization_server"] = "https://evil.test/audience"
    moodle["serve_config"](forged)
    moodle["serve_registration"]()
    assert register(client, moodle).status_code == 409
    db_session.expire_all()
    assert db_session.get(Registration, known.id).auth_audience is None  # type: ignore[union-attr]


def test_the_same_platform_registering_again_adds_its_deployment_and_changes_nothing_else(
    client, db_session, moodle
) -> None:
    known = _known_platform(moodle["origin"], is_active=False)
    db_session.commit()
    moodle["serve_config"]()
    moodle["serve_registration"]()

    response = register(client, moodle)

    assert response.status_code == 200, response.data
    assert "registration is updated" in response.get_data(as_text=True)
    db_session.expire_all()
    stored = db_session.get(Registration, known.id)
    assert stored is not None
    assert sorted(d.deployment_id for d in stored.deployments) == ["1", "2"]
    assert stored.is_active is False, "an operator's deactivation outlives a re-registration"
    assert (stored.source, stored.name) == ("manual", "Moodle (production)")
    assert stored.platform_jwks == {"keys": [{"kid": "moodle-key"}]}
    assert db_session.query(Registration).count() == 1 and db_session.query(Deployment).count() == 2


def test_a_redirected_configuration_is_refused_before_anything_is_posted(
    client, db_session, httpserver, moodle
) -> None:
    # An open redirect on the LMS's site must not let another document speak for the LMS.
    httpserver.expect_request(CONFIG_PATH).respond_with_response(
        Response(status=302, headers={"Location": moodle["origin"] + "/pluginfile.php/forged.json"})
    )
    httpserver.expect_request("/pluginfile.php/forged.json").respond_with_json(moodle["config"]())
    moodle["serve_registration"]()

    response = register(client, moodle)

    assert response.status_code == 400
    assert b"redirect" in response.data
    assert moodle["requests"] == []
    assert db_session.query(Registration).count() == 0


def test_a_configuration_not_served_as_json_is_refused(client, db_session, httpserver, moodle) -> None:
    # A file served as a download or a web page is not the platform's configuration endpoint.
    body = Response(json.dumps(moodle["config"]()), status=200, content_type="text/plain")
    httpserver.expect_request(CONFIG_PATH).respond_with_response(body)
    moodle["serve_registration"]()

    response = register(client, moodle)

    assert response.status_code == 400
    assert b"text/plain" in response.data
    assert moodle["requests"] == []
    assert db_session.query(Registration).count() == 0
