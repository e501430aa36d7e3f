"""Dynamic Registration against a loopback server replaying Moodle 4.5's captured exchange."""

from __future__ import annotations

import json
import socket

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from lti_app.models.registration import Deployment, Registration
from tests.functional.registration.support import CONFIG_PATH, TOOL_CONFIGURATION, rebase, register


def test_registers_with_moodle_and_closes_the_dialog(client, db_session, moodle) -> None:
    moodle["serve_config"]()
    moodle["serve_registration"]()
    response = register(client, moodle)
    assert response.status_code == 200, response.data
    page = response.get_data(as_text=True)
    assert "org.imsglobal.lti.close" in page and "postMessage" in page
    assert "data-pending-activation" in page, "Moodle keeps the tool pending: the page must say so"

    registration = db_session.query(Registration).one()
    origin = moodle["origin"]
    assert registration.issuer == origin
    assert registration.client_id == "ukpsbAvHNnt6AD0"
    assert registration.auth_login_url == origin + "/mod/lti/auth.php"
    assert registration.auth_token_url == origin + "/mod/lti/token.php"
    assert registration.key_set_url == origin + "/mod/lti/certs.php"
    assert (registration.source, registration.product_family) == ("dynamic", "moodle")
    assert [d.deployment_id for d in registration.deployments] == ["2"]

    # The LMS frames this page before it is registered: it must allow the asking site.
    assert f"frame-ancestors 'self' {origin}" in response.headers["Content-Security-Policy"]


def test_the_tool_sends_its_client_metadata_with_the_registration_token(client, moodle) -> None:
    moodle["serve_config"]()
    moodle["serve_registration"]()
    register(client, moodle)
    sent = moodle["requests"][0]
    assert sent["authorization"] == f"Bearer {moodle['token']}"
    body = sent["body"]
    assert body["application_type"] == "web"
    assert body["grant_types"] == ["implicit", "client_credentials"]
    assert body["response_types"] == ["id_token"]
    assert body["initiate_login_uri"] == "http://tool.test/lti/login"
    assert body["redirect_uris"] == ["http://tool.test/lti/launch"]
    assert body["jwks_uri"] == "http://tool.test/lti/jwks"
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    scopes = body["scope"].split()
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in scopes
    assert "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly" in scopes
    tool = body[TOOL_CONFIGURATION]
    assert tool["domain"] == "tool.test" and tool["target_link_uri"] == "http://tool.test/lti/launch"
    assert {"sub", "iss", "name", "email"} <= set(tool["claims"])
    assert {m["type"] for m in tool["messages"]} == {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}


def test_registering_again_updates_and_never_duplicates(client, db_session, moodle) -> None:
    moodle["serve_config"]()
    moodle["serve_registration"]()
    assert register(client, moodle).status_code == 200
    again = register(client, moodle)
    assert again.status_code == 200 and "registration is updated" in again.get_data(as_text=True)
    assert db_session.query(Registration).count() == 1
    assert db_session.query(Deployment).count() == 1


def test_issuer_on_another_site_is_refused_and_nothing_is_written(client, db_session, moodle) -> None:
    config = rebase(moodle["capture"]["openid_configuration"], moodle["origin"])
    config["issuer"] = "https://moodle.elsewhere.example"
    moodle["serve_config"](config)
    moodle["serve_registration"]()
    response = register(client, moodle)
    assert response.status_code == 400
    assert b'data-error-code="issuer_mismatch"' in response.data
    assert moodle["requests"] == [], "nothing may be posted to a platform that failed validation"
    assert db_session.query(Registration).count() == 0
    assert f"frame-ancestors 'self' {moodle['origin']}" in response.headers["Content-Security-Policy"]


def test_a_refusing_registration_endpoint_is_a_clear_4xx(client, db_session, moodle) -> None:
    moodle["serve_config"]()
    body = {"error": "invalid_token", "error_description": "Registration token expired"}
    refusal = Response(json.dumps(body), status=401, content_type="application/json")
    moodle["serve_registration"](refusal)
    response = register(client, moodle)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "invalid_token" in page and "Registration token expired" in page
    assert db_session.query(Registration).count() == 0


def test_malformed_configuration_is_a_clear_4xx(client, db_session, httpserver: HTTPServer, moodle) -> None:
    httpserver.expect_request(CONFIG_PATH).respond_with_data("{Moodle is upgrading",
                                                             content_type="application/json")
    response = register(client, moodle)
    assert response.status_code == 400
    assert b"not valid JSON" in response.data
    assert db_session.query(Registration).count() == 0


def test_a_web_page_instead_of_the_configuration_is_a_clear_4xx(
    client, db_session, httpserver: HTTPServer, moodle
) -> None:
    httpserver.expect_request(CONFIG_PATH).respond_with_data("<html>Moodle is upgrading</html>",
                                                             content_type="text/html")
    response = register(client, moodle)
    assert response.status_code == 400
    assert b"text/html" in response.data and b"not application/json" in response.data
    assert db_session.query(Registration).count() == 0


def test_configuration_missing_required_fields_names_them(client, db_session, moodle) -> None:
    config = rebase(moodle["capture"]["openid_configuration"], moodle["origin"])
    del config["registration_endpoint"]
    moodle["serve_config"](config)
    response = register(client, moodle)
    assert response.status_code == 400 and b"registration_endpoint" in response.data
    assert db_session.query(Registration).count() == 0


def test_malformed_registration_answer_writes_nothing(client, db_session, moodle) -> None:
    moodle["serve_config"]()
    moodle["serve_registration"](Response("{}", status=200, content_type="application/json"))
    response = register(client, moodle)
    assert response.status_code == 400 and b"client_id" in response.data
    assert db_session.query(Registration).count() == 0


def test_unreachable_platform_is_a_clear_4xx(client, db_session) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}{CONFIG_PATH}"
    query = {"openid_configuration": url, "registration_token": "x"}
    response = client.get("/lti/register", query_string=query)
    assert response.status_code == 400
    assert b'data-error-code="platform_unreachable"' in response.data
    assert db_session.query(Registration).count() == 0


@pytest.mark.parametrize("query", [{}, {"openid_configuration": "ftp://moodle.example/config"}])
def test_missing_or_bad_configuration_url_is_422(client, query) -> None:
    response = client.get("/lti/register", query_string=query)
    assert response.status_code == 422
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
