"""The demo LMS's side of a launch: login initiation, the OIDC authorization endpoint, the signed
id_token (checked against the demo's JWKS as a tool would)."""

from __future__ import annotations

from lti_app.demo_lms import store, vocab

from .conftest import ISSUER, TOOL, auth_request, form_of, start_launch, verify_id_token


def test_a_launch_link_answers_the_login_initiation_for_the_tool(client, demo) -> None:
    login = start_launch(client, "demo-learner", link="demo-link-1")
    assert login.action == f"{TOOL}/lti/login" and login.method == "post"
    assert login.fields["iss"] == ISSUER
    assert login.fields["login_hint"] == "demo-learner"
    assert login.fields["client_id"] == store.CLIENT_ID and login.fields["lti_deployment_id"] == "1"
    assert login.fields["target_link_uri"] == f"{TOOL}/lti/launch"
    assert login.fields["lti_message_hint"]


def test_the_auth_endpoint_posts_a_signed_id_token_to_the_tool(client, demo) -> None:
    login = start_launch(client, "demo-learner", link="demo-link-1")
    response = client.get("/demo/auth", query_string=auth_request(login))
    assert response.status_code == 200
    handoff = form_of(response.get_data(as_text=True))
    assert handoff.action == f"{TOOL}/lti/launch" and handoff.fields["state"] == "state-456"
    claims = verify_id_token(client, handoff.fields["id_token"])
    assert claims["sub"] == "demo-learner" and claims["nonce"] == "nonce-123"
    assert claims[vocab.CLAIM_DEPLOYMENT_ID] == "1"
    assert claims[vocab.CLAIM_MESSAGE_TYPE] == "LtiResourceLinkRequest"
    assert claims[vocab.CLAIM_ROLES] == [vocab.ROLE_LEARNER]
    assert claims[vocab.CLAIM_RESOURCE_LINK]["id"] == "demo-link-1"
    assert claims[vocab.CLAIM_CONTEXT]["title"] == "Mentoring Foundations"
    ags = claims[vocab.CLAIM_AGS_ENDPOINT]
    assert ags["lineitems"] == f"{ISSUER}/ags/demo-course-1/lineitems"
    assert ags["lineitem"].startswith(f"{ISSUER}/ags/demo-course-1/lineitems/")
    assert claims[vocab.CLAIM_NRPS]["context_memberships_url"] == f"{ISSUER}/nrps/demo-course-1/memberships"


def test_the_admin_launches_with_administrator_roles(client, demo) -> None:
    login = start_launch(client, "demo-admin", link="demo-link-1")
    response = client.post("/demo/auth", data=auth_request(login))
    claims = verify_id_token(client, form_of(response.get_data(as_text=True)).fields["id_token"])
    assert vocab.ROLE_SYSTEM_ADMINISTRATOR in claims[vocab.CLAIM_ROLES]
    assert vocab.ROLE_INSTRUCTOR in claims[vocab.CLAIM_ROLES]


def test_an_unregistered_redirect_uri_is_refused_without_redirecting(client, demo) -> None:
    login = start_launch(client, "demo-learner", link="demo-link-1")
    response = client.get("/demo/auth", query_string=auth_request(login, redirect_uri="https://evil.example/x"))
    assert response.status_code == 400
    assert b"lti-handoff" not in response.data, "never post anything to an unregistered address"


def test_a_login_hint_for_someone_else_is_reported_to_the_tool(client, demo) -> None:
    login = start_launch(client, "demo-learner", link="demo-link-1")
    response = client.get("/demo/auth", query_string=auth_request(login, login_hint="demo-admin"))
    handoff = form_of(response.get_data(as_text=True))
    assert handoff.action == f"{TOOL}/lti/launch"
    assert handoff.fields["error"] == "login_required" and handoff.fields["state"] == "state-456"
    assert "id_token" not in handoff.fields


def test_a_forged_message_hint_is_refused(client, demo) -> None:
    login = start_launch(client, "demo-learner", link="demo-link-1")
    response = client.get("/demo/auth", query_string=auth_request(login, lti_message_hint="made-up"))
    assert response.status_code == 400 and b"lti-handoff" not in response.data


def test_unknown_people_and_links_are_404(client, demo) -> None:
    for query in ({"user": "nobody", "link": "demo-link-1"}, {"user": "demo-learner", "link": "nope"}):
        assert client.get("/demo/launch", query_string=query).status_code == 404


def test_the_platform_jwks_publishes_the_persisted_key(client, demo) -> None:
    body = client.get("/demo/jwks").get_json()
    assert [k["kid"] for k in body["keys"]] == [demo.platform.kid]
