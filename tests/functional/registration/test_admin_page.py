"""``/admin``: what an LMS admin sees and may do, decided in the service layer."""

from __future__ import annotations

import re

import pytest
from flask_wtf.csrf import generate_csrf

from lti_app.extensions import db
from lti_app.models.person import Person
from lti_app.models.registration import ToolKey
from lti_app.services import keys
from tests.factories.core import DeploymentFactory, RegistrationFactory, actor_for
from tests.support.launch import launch_token


def csrf_for(app, token: str) -> str:  # type: ignore[no-untyped-def]
    """The CSRF token a page of this launch would carry (its secret rides in the launch token)."""
    with app.test_request_context("/admin", query_string={"lt": token}):
        return generate_csrf()


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


@pytest.fixture()
def platforms(app, db_session):  # type: ignore[no-untyped-def]
    mine = RegistrationFactory(issuer="https://moodle.mine.test", client_id="mine", name="Mine")
    DeploymentFactory(registration=mine, deployment_id="7")
    other = RegistrationFactory(issuer="https://moodle.other.test", client_id="other", name="Other")
    keys.ensure_key(db_session, keys_box(app))
    db_session.commit()
    return mine, other


def keys_box(app):  # type: ignore[no-untyped-def]
    from lti_app.crypto import SecretBox

    return SecretBox(app.extensions["tandem.settings"].secret_key)


def token_for(app, registration, *roles: str) -> str:  # type: ignore[no-untyped-def]
    person = Person(
        registration_id=registration.id,
        sub=f"admin-{registration.id}-{'-'.join(roles)}",
        is_platform_admin="admin" in roles,  # admin rights come from the person's flag, not the token
    )
    db.session.add(person)
    db.session.commit()
    return launch_token(app, actor_for(person, None, *roles))


def test_a_platform_admin_sees_their_platform_keys_and_urls_but_cannot_rotate(app, client, platforms) -> None:
    mine, other = platforms
    response = client.get("/admin", query_string={"lt": token_for(app, mine, "admin")})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'data-registration-id="{mine.id}"' in page and f'data-registration-id="{other.id}"' not in page
    assert "<code>7</code>" in page
    assert "http://tool.test/lti/jwks" in page and "http://tool.test/lti/register" in page
    kid = keys.list_keys(db.session)[0].kid
    assert f'data-kid="{kid}"' in page
    assert "rotate-key-form" not in page and 'id="rotation-note"' in page
    assert "BEGIN" not in page, "never a private key on the page"


def test_non_admins_are_refused(app, client, platforms) -> None:
    mine, _ = platforms
    for roles in (("participant",), ("trainer",)):
        response = client.get("/admin", query_string={"lt": token_for(app, mine, *roles)})
        assert response.status_code == 403


def test_without_a_launch_the_page_asks_to_open_tandem_from_the_lms(client) -> None:
    assert client.get("/admin").status_code == 401


def test_a_platform_admin_cannot_rotate_by_posting_directly(app, client, platforms, db_session) -> None:
    mine, _ = platforms
    token = token_for(app, mine, "admin")
    # The page offers no form, but a hand-made post with a valid CSRF token must still be refused.
    response = client.post("/admin/keys/rotate", data={"lt": token, "csrf_token": csrf_for(app, token)})
    assert response.status_code == 403
    assert db_session.query(ToolKey).count() == 1


def test_an_operator_admin_sees_every_platform_and_rotates_the_key(
    app, client, platforms, db_session
) -> None:
    mine, other = platforms
    settings = app.extensions["tandem.settings"]
    app.extensions["tandem.settings"] = settings.with_overrides(operator_platforms=(f"mine@{mine.issuer}",))
    try:
        token = token_for(app, mine, "admin")
        page = client.get("/admin", query_string={"lt": token}).get_data(as_text=True)
        assert f'data-registration-id="{other.id}"' in page and "rotate-key-form" in page
        fields = hidden_fields(page)
        assert "csrf_token" in fields and fields["lt"]

        forged = client.post("/admin/keys/rotate", data={"lt": token})
        assert forged.status_code == 400, "a post without the CSRF token must fail"
        assert db_session.query(ToolKey).count() == 1

        response = client.post("/admin/keys/rotate", data=fields)
        assert response.status_code == 303
        assert "rotated=1" in response.headers["Location"] and "lt=" in response.headers["Location"]
        db_session.expire_all()
        assert db_session.query(ToolKey).count() == 2
        after = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "A new key now signs" in after
    finally:
        app.extensions["tandem.settings"] = settings


def test_the_demo_platform_admin_is_an_operator_outside_production(app, client, db_session) -> None:
    demo = RegistrationFactory(issuer="http://tool.test/demo", client_id="tandem-demo", source="demo")
    db_session.commit()
    page = client.get("/admin", query_string={"lt": token_for(app, demo, "admin")}).get_data(as_text=True)
    assert "rotate-key-form" in page


def test_the_page_costs_the_same_few_queries_however_many_platforms(app, client, db_session) -> None:
    from sqlalchemy import event

    def count_queries(extra_platforms: int) -> int:
        own = RegistrationFactory(client_id=f"own-{extra_platforms}")
        for _ in range(extra_platforms):
            for deployment in ("1", "2", "3"):
                DeploymentFactory(registration=RegistrationFactory(), deployment_id=deployment)
        db_session.commit()
        token = token_for(app, own, "admin")
        settings = app.extensions["tandem.settings"]
        app.extensions["tandem.settings"] = settings.with_overrides(
            operator_platforms=(f"{own.client_id}@{own.issuer}",)
        )
        # The frame-ancestors list refreshes once a minute: not now, so both pages are measured alike.
        app.extensions["tandem.platform_origins"].refresh()
        seen: list[str] = []

        def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            page = client.get("/admin", query_string={"lt": token})
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
            app.extensions["tandem.settings"] = settings
        assert page.status_code == 200
        return len(seen)

    assert count_queries(2) == count_queries(20)


def test_an_operator_invites_a_platform_from_the_page(app, client, platforms) -> None:
    from urllib.parse import parse_qs, urlsplit

    from lti_app.services.dynamic_registration import Invitations

    mine, _ = platforms
    settings = app.extensions["tandem.settings"]
    app.extensions["tandem.settings"] = settings.with_overrides(operator_platforms=(f"mine@{mine.issuer}",))
    try:
        token = token_for(app, mine, "admin")
        page = client.get("/admin", query_string={"lt": token}).get_data(as_text=True)
        assert 'id="invite-form"' in page
        fields = hidden_fields(page)

        forged = client.post("/admin/invitations", data={"lt": token})
        assert forged.status_code == 400, "a post without the CSRF token must fail"

        response = client.post("/admin/invitations", data={**fields, "issuer": "https://moodle.new.test"})
        assert response.status_code == 200
        shown = response.get_data(as_text=True)
        url = re.search(r'id="invitation-url"[^>]*>(http://tool\.test/lti/register\?invite=[^<]+)<', shown)
        assert url is not None, shown
        code = parse_qs(urlsplit(url.group(1)).query)["invite"][0]
        assert Invitations(settings.secret_key).check(code).issuer == "https://moodle.new.test"
        assert "https://moodle.new.test" in shown

        bad = client.post("/admin/invitations", data={**fields, "issuer": "moodle"})
        assert bad.status_code == 422
    finally:
        app.extensions["tandem.settings"] = settings


def test_a_platform_admin_cannot_invite_platforms(app, client, platforms) -> None:
    mine, _ = platforms
    token = token_for(app, mine, "admin")
    page = client.get("/admin", query_string={"lt": token}).get_data(as_text=True)
    assert 'id="invite-form"' not in page
    response = client.post("/admin/invitations", data={"lt": token, "csrf_token": csrf_for(app, token)})
    assert response.status_code == 403
    assert "invitation-url" not in response.get_data(as_text=True)
