"""Which sites may frame Tandem and receive its forms: active platforms only, and on a page of a launch
only that launch's platform, so the header stays small however many platforms are registered."""

from __future__ import annotations

import logging

import jwt

from lti_app.extensions import db
from lti_app.models.person import Person
from lti_app.web.security import PlatformOrigins
from tests.factories.core import RegistrationFactory, actor_for
from tests.support.launch import launch_token


def csp(client, **query: str) -> str:  # type: ignore[no-untyped-def]
    return client.get("/healthz", query_string=query).headers["Content-Security-Policy"]  # type: ignore[no-any-return]


def directive(policy: str, name: str) -> list[str]:
    for part in policy.split(";"):
        words = part.split()
        if words and words[0] == name:
            return words[1:]
    raise AssertionError(f"no {name} in {policy}")


def test_a_registration_made_inactive_disappears_from_the_header(app, client, db_session) -> None:
    moodle = RegistrationFactory(issuer="https://moodle.one.test", auth_login_url="https://auth.one.test/x")
    RegistrationFactory(issuer="https://moodle.two.test")
    db_session.commit()
    app.extensions["tandem.platform_origins"].refresh()
    policy = csp(client)
    for name in ("frame-ancestors", "form-action"):
        assert {"https://moodle.one.test", "https://auth.one.test", "https://moodle.two.test"} <= set(
            directive(policy, name)
        )

    moodle.is_active = False
    db_session.commit()
    app.extensions["tandem.platform_origins"].refresh()
    policy = csp(client)
    for name in ("frame-ancestors", "form-action"):
        assert directive(policy, name) == ["'self'", "https://moodle.two.test"]


def test_a_page_of_a_launch_names_only_its_own_platform(app, client, db_session) -> None:
    mine = RegistrationFactory(issuer="https://moodle.mine.test", auth_login_url="https://sso.mine.test/a")
    for _ in range(5):
        RegistrationFactory()
    person = Person(registration=mine, sub="learner-1")
    db_session.add(person)
    db_session.commit()
    app.extensions["tandem.platform_origins"].refresh()
    token = launch_token(app, actor_for(person, None, "participant"))
    policy = csp(client, lt=token)
    expected = ["'self'", "https://moodle.mine.test", "https://sso.mine.test"]
    assert directive(policy, "frame-ancestors") == expected
    assert directive(policy, "form-action") == expected


def test_a_login_names_only_the_platform_it_comes_from(app, client, db_session) -> None:
    RegistrationFactory(issuer="https://moodle.mine.test", client_id="a")
    RegistrationFactory(issuer="https://moodle.mine.test", client_id="b", auth_login_url="https://sso.mine.test/x")
    RegistrationFactory(issuer="https://moodle.other.test")
    db_session.commit()
    app.extensions["tandem.platform_origins"].refresh()
    policy = csp(client, iss="https://moodle.mine.test")
    assert directive(policy, "frame-ancestors") == ["'self'", "https://moodle.mine.test", "https://sso.mine.test"]
    # An issuer Tandem does not know narrows nothing and adds nothing.
    assert "https://moodle.other.test" in directive(csp(client, iss="https://evil.test"), "frame-ancestors")
    assert "https://evil.test" not in csp(client, iss="https://evil.test")


def test_a_refused_launch_names_only_the_platform_its_token_claims(app, client, db_session) -> None:
    RegistrationFactory(issuer="https://moodle.mine.test")
    RegistrationFactory(issuer="https://moodle.other.test")
    db_session.commit()
    app.extensions["tandem.platform_origins"].refresh()
    key = "not-the-platform-key-but-long-enough-0123"
    forged = jwt.encode({"iss": "https://moodle.mine.test"}, key, algorithm="HS256")
    response = client.post("/lti/launch", data={"id_token": forged, "state": "unknown"})
    assert 400 <= response.status_code < 500
    policy = response.headers["Content-Security-Policy"]
    assert directive(policy, "frame-ancestors") == ["'self'", "https://moodle.mine.test"]


def test_the_list_for_pages_outside_a_launch_is_capped_with_a_warning(app, db_session, caplog) -> None:
    for n in range(6):
        RegistrationFactory(issuer=f"https://moodle{n}.test")
    db_session.commit()
    origins = PlatformOrigins(limit=4)
    with caplog.at_level(logging.WARNING, logger="lti_app.web.security"):
        origins.refresh()
    assert origins.get() == tuple(f"https://moodle{n}.test" for n in range(4)), "oldest platforms first"
    assert any("6 platform origins" in r.getMessage() for r in caplog.records)


def test_long_origins_are_capped_by_characters_too(app, db_session) -> None:
    for n in range(10):
        RegistrationFactory(issuer=f"https://{'a' * 60}.{'b' * 60}.x{n}.example.test")
    db_session.commit()
    origins = PlatformOrigins(limit=200, max_chars=1000)
    origins.refresh()
    assert 0 < len(origins.get()) < 10 and len(" ".join(origins.get())) <= 1000


def test_a_hundred_platforms_do_not_grow_a_launch_pages_header(app, client, db_session) -> None:
    mine = RegistrationFactory(issuer="https://moodle.mine.test")
    person = Person(registration=mine, sub="learner-2")
    db.session.add(person)
    for n in range(100):
        RegistrationFactory(issuer=f"https://{'a' * 60}.{'b' * 60}.x{n}.example.test")
    db_session.commit()
    app.extensions["tandem.platform_origins"].refresh()
    token = launch_token(app, actor_for(person, None, "participant"))
    assert len(csp(client, lt=token)) < 600
