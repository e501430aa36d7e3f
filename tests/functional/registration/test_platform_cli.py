"""``tandem platform …`` and ``tandem keys …`` through the real command group."""

from __future__ import annotations

import pytest

from lti_app.cli import main
from lti_app.models.registration import Deployment, Registration, ToolKey

MOODLE = "https://moodle.example.test"


def add_args(client_id: str = "abc123", *deployments: str, issuer: str = MOODLE) -> list[str]:
    args = [
        "platform", "add", "--issuer", issuer, "--client-id", client_id,
        "--auth-url", f"{issuer}/mod/lti/auth.php", "--token-url", f"{issuer}/mod/lti/token.php",
        "--jwks-url", f"{issuer}/mod/lti/certs.php", "--name", "Moodle",
    ]
    for deployment in deployments:
        args += ["--deployment-id", deployment]
    return args


@pytest.fixture()
def tandem(app):
    runner = app.test_cli_runner()

    def invoke(*args: str, **kwargs):  # type: ignore[no-untyped-def]
        return runner.invoke(main, list(args), catch_exceptions=False, **kwargs)

    return invoke


def test_add_registers_a_platform_with_deployments_and_prints_the_tool_urls(tandem, db_session) -> None:
    result = tandem(*add_args("abc123", "1", "2"))
    assert result.exit_code == 0, result.output
    assert "Registered platform" in result.output
    assert "http://tool.test/lti/login" in result.output and "http://tool.test/lti/jwks" in result.output
    registration = db_session.query(Registration).one()
    assert (registration.issuer, registration.client_id, registration.source) == (MOODLE, "abc123", "manual")
    assert sorted(d.deployment_id for d in registration.deployments) == ["1", "2"]


def test_adding_the_same_issuer_and_client_id_updates_never_duplicates(tandem, db_session) -> None:
    tandem(*add_args("abc123", "1"))
    result = tandem(*add_args("abc123", "1", "3"))
    assert "Updated platform" in result.output
    assert db_session.query(Registration).count() == 1
    assert sorted(d.deployment_id for d in db_session.query(Deployment)) == ["1", "3"]


def test_several_client_ids_per_issuer_live_side_by_side(tandem, db_session) -> None:
    tandem(*add_args("one", "1"))
    tandem(*add_args("two", "1"))
    assert db_session.query(Registration).count() == 2
    listing = tandem("platform", "list").output
    assert "one" in listing and "two" in listing
    ambiguous = tandem("platform", "show", MOODLE)
    assert ambiguous.exit_code != 0 and "Several platforms share issuer" in ambiguous.output
    shown = tandem("platform", "show", MOODLE, "--client-id", "two")
    assert shown.exit_code == 0 and "client id:" in shown.output and "two" in shown.output


def test_invalid_urls_are_refused_and_nothing_is_written(tandem, db_session) -> None:
    args = add_args("abc")
    args[args.index("--jwks-url") + 1] = "not a url"
    result = tandem(*args)
    assert result.exit_code != 0
    assert "--jwks-url: must be an absolute http(s) URL" in result.output
    assert db_session.query(Registration).count() == 0


def test_remove_a_deployment_then_the_platform(tandem, db_session) -> None:
    tandem(*add_args("abc", "1", "2"))
    registration_id = db_session.query(Registration).one().id
    result = tandem("platform", "remove", str(registration_id), "--deployment-id", "2")
    assert result.exit_code == 0, result.output
    assert [d.deployment_id for d in db_session.query(Deployment)] == ["1"]
    refused = tandem("platform", "remove", str(registration_id), input="n\n")
    assert refused.exit_code != 0 and db_session.query(Registration).count() == 1
    result = tandem("platform", "remove", str(registration_id), "--yes")
    assert result.exit_code == 0 and db_session.query(Registration).count() == 0


def test_unknown_platform_is_a_clear_error(tandem) -> None:
    result = tandem("platform", "show", "999")
    assert result.exit_code != 0 and "No platform with id 999" in result.output


def test_keys_ensure_rotate_list_retire(tandem, db_session) -> None:
    first = tandem("keys", "ensure")
    assert first.exit_code == 0 and "Created signing key" in first.output
    assert "Signing key present" in tandem("keys", "ensure").output
    assert db_session.query(ToolKey).count() == 1
    rotated = tandem("keys", "rotate")
    assert rotated.exit_code == 0 and "stay published for 7 days" in rotated.output
    listing = tandem("keys", "list").output
    assert "(signs)" in listing and "retiring" in listing
    assert "No key is past its grace period" in tandem("keys", "retire").output
    assert "Retired" in tandem("keys", "retire", "--now").output
    statuses = sorted(k.status for k in db_session.query(ToolKey))
    assert statuses == ["active", "retired"]


def test_moving_the_key_set_url_forgets_the_keys_read_from_the_old_one(tandem, db_session) -> None:
    tandem(*add_args("abc123", "1"))
    registration = db_session.query(Registration).one()
    registration.platform_jwks = {"keys": [{"kid": "old"}]}
    db_session.commit()
    same = tandem(*add_args("abc123", "1"))
    assert same.exit_code == 0
    db_session.expire_all()
    assert db_session.query(Registration).one().platform_jwks == {"keys": [{"kid": "old"}]}
    args = add_args("abc123", "1")
    args[args.index("--jwks-url") + 1] = f"{MOODLE}/keys/new.json"
    assert tandem(*args).exit_code == 0
    db_session.expire_all()
    assert db_session.query(Registration).one().platform_jwks is None


def test_deactivate_then_activate_a_platform(tandem, db_session, client) -> None:
    tandem(*add_args("abc", "1"))
    registration_id = db_session.query(Registration).one().id
    result = tandem("platform", "deactivate", str(registration_id))
    assert result.exit_code == 0 and "inactive" in result.output
    db_session.expire_all()
    assert db_session.query(Registration).one().is_active is False
    assert MOODLE not in client.get("/healthz").headers["Content-Security-Policy"]
    assert "no" in tandem("platform", "show", str(registration_id)).output.split("active:")[1]
    assert tandem("platform", "activate", MOODLE).exit_code == 0
    db_session.expire_all()
    assert db_session.query(Registration).one().is_active is True
    assert MOODLE in client.get("/healthz").headers["Content-Security-Policy"]
