"""``/lti/jwks`` and ``/lti/config``: what platforms and LMS admins read from the tool."""

from __future__ import annotations

from lti_app.crypto import SecretBox
from lti_app.services import keys

AGS_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"


def _box(app) -> SecretBox:
    return SecretBox(app.extensions["tandem.settings"].secret_key)


def test_jwks_publishes_active_and_retiring_keys_with_kid(app, client, db_session) -> None:
    old, _ = keys.ensure_key(db_session, _box(app))
    new = keys.rotate(db_session, _box(app))
    db_session.commit()
    response = client.get("/lti/jwks")
    assert response.status_code == 200
    body = response.get_json()
    assert [k["kid"] for k in body["keys"]] == [new.kid, old.kid]
    for key in body["keys"]:
        assert set(key) == {"kty", "e", "n", "kid", "alg", "use"}, "public parts only"
    assert "max-age" in response.headers["Cache-Control"]


def test_jwks_never_publishes_an_empty_set(client) -> None:
    body = client.get("/lti/jwks").get_json()
    assert len(body["keys"]) == 1 and body["keys"][0]["kid"]


def test_config_lists_every_tool_url_from_the_base_url(client) -> None:
    body = client.get("/lti/config").get_json()
    assert body["initiate_login_uri"] == "http://tool.test/lti/login"
    assert body["target_link_uri"] == "http://tool.test/lti/launch"
    assert body["redirect_uris"] == ["http://tool.test/lti/launch"]
    assert body["jwks_uri"] == "http://tool.test/lti/jwks"
    assert body["dynamic_registration_url"] == "http://tool.test/lti/register"
    assert body["domain"] == "tool.test"
    assert AGS_SCORE in body["scopes"] and NRPS in body["scopes"]
    assert body["canvas"]["oidc_initiation_url"] == "http://tool.test/lti/login"


def test_canvas_developer_key_json(client) -> None:
    body = client.get("/lti/config/canvas.json").get_json()
    assert body["target_link_uri"] == "http://tool.test/lti/launch"
    assert body["public_jwk_url"] == "http://tool.test/lti/jwks"
    assert AGS_SCORE in body["scopes"] and NRPS in body["scopes"]
    extension = body["extensions"][0]
    assert extension["platform"] == "canvas.instructure.com" and extension["privacy_level"] == "public"
    messages = {p["placement"]: p["message_type"] for p in extension["settings"]["placements"]}
    assert messages["course_navigation"] == "LtiResourceLinkRequest"
    assert messages["link_selection"] == "LtiDeepLinkingRequest"
