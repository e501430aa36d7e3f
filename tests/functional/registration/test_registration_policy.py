"""What dynamic registration may reach in production: https endpoints only, and no loopback, private or
link-local address (the tool would otherwise fetch, post to and later trust whatever sits on its own
network because an anonymous page asked it to)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import lms_clients.registration as client
from lti_app.models.registration import Registration
from lti_app.services import dynamic_registration as dr
from lti_app.services.registration_invitations import InvitationRefused, Invitations
from lti_app.services.registrations import tool_urls

PUBLIC = "93.184.216.34"
CONFIG_URL = "https://moodle.example.edu/mod/lti/openid-configuration.php"


def configuration(**overrides: str) -> client.PlatformConfiguration:
    site = "https://moodle.example.edu"
    fields = {
        "issuer": site,
        "authorization_endpoint": f"{site}/mod/lti/auth.php",
        "token_endpoint": f"{site}/mod/lti/token.php",
        "jwks_uri": f"{site}/mod/lti/certs.php",
        "registration_endpoint": f"{site}/mod/lti/openid-registration.php",
        **overrides,
    }
    return client.PlatformConfiguration(**fields)


@pytest.fixture()
def platform(monkeypatch):  # type: ignore[no-untyped-def]
    """Stands in for the two calls to the LMS; records which happened."""
    calls: dict[str, Any] = {"fetched": [], "posted": [], "configuration": configuration()}

    def fetch(http: Any, url: str) -> client.PlatformConfiguration:
        calls["fetched"].append(url)
        return calls["configuration"]  # type: ignore[no-any-return]

    def post(http: Any, endpoint: str, metadata: Any, token: Any) -> client.ToolRegistration:
        calls["posted"].append(endpoint)
        return client.ToolRegistration(client_id="c-1", deployment_id="1")

    monkeypatch.setattr(dr, "fetch_platform_configuration", fetch)
    monkeypatch.setattr(dr, "register_tool", post)
    return calls


def resolver(addresses: dict[str, str]) -> Callable[[str, int], list[str]]:
    return lambda host, port: [addresses.get(host, PUBLIC)]


def production(
    addresses: dict[str, str] | None = None, networks: tuple[str, ...] = ()
) -> dr.RegistrationPolicy:
    guard = client.AddressGuard(allowed_networks=networks, resolve=resolver(addresses or {}))
    return dr.RegistrationPolicy(require_https=True, address_guard=guard)


def run(db_session, policy: dr.RegistrationPolicy) -> dr.RegistrationOutcome:  # type: ignore[no-untyped-def]
    return dr.register_platform(
        db_session, configuration_url=CONFIG_URL, registration_token="t",
        urls=tool_urls("https://tandem.example.edu"), policy=policy,
    )


def test_a_public_https_platform_registers(db_session, platform) -> None:
    outcome = run(db_session, production())
    assert outcome.created and outcome.registration.key_set_url.endswith("/certs.php")
    assert platform["posted"] == ["https://moodle.example.edu/mod/lti/openid-registration.php"]


@pytest.mark.parametrize(
    "field", ["authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint"]
)
def test_every_endpoint_must_be_https(db_session, platform, field: str) -> None:
    platform["configuration"] = configuration(**{field: f"http://moodle.example.edu/{field}"})
    with pytest.raises(dr.RegistrationFailed) as refused:
        run(db_session, production())
    assert refused.value.code == "insecure_endpoint" and field in refused.value.details
    assert platform["posted"] == [] and db_session.query(Registration).count() == 0


def test_outside_production_plain_http_endpoints_are_allowed(db_session, platform) -> None:
    platform["configuration"] = configuration(jwks_uri="http://moodle.example.edu/certs")
    assert run(db_session, dr.RegistrationPolicy()).created


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.9", "169.254.169.254", "::1",
                                     "fd00::1", "fe80::1", "::ffff:127.0.0.1", "100.64.0.1", "0.0.0.0"])
def test_a_configuration_url_on_a_non_public_address_is_never_fetched(db_session, platform, address) -> None:
    with pytest.raises(dr.RegistrationFailed) as refused:
        run(db_session, production({"moodle.example.edu": address}))
    assert refused.value.code == "unsafe_address"
    assert platform["fetched"] == [] and platform["posted"] == []


@pytest.mark.parametrize("field", ["registration_endpoint", "jwks_uri", "token_endpoint"])
def test_endpoints_tandem_calls_must_be_public_too(db_session, platform, field: str) -> None:
    platform["configuration"] = configuration(**{field: "https://internal.example.edu/x"})
    with pytest.raises(dr.RegistrationFailed) as refused:
        run(db_session, production({"internal.example.edu": "10.0.0.8"}))
    assert refused.value.code == "unsafe_address"
    assert platform["posted"] == [] and db_session.query(Registration).count() == 0


def test_a_host_that_does_not_resolve_is_a_clear_refusal(db_session, platform) -> None:
    def nowhere(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    policy = dr.RegistrationPolicy(require_https=True, address_guard=client.AddressGuard(resolve=nowhere))
    with pytest.raises(dr.RegistrationFailed) as refused:
        run(db_session, policy)
    assert refused.value.code == "platform_unreachable"
    assert platform["fetched"] == []


def test_networks_the_operator_trusts_may_be_reached(db_session, platform) -> None:
    # An LMS on the campus network, next to Tandem: the operator names its network.
    policy = production({"moodle.example.edu": "10.20.0.5"}, networks=("10.20.0.0/16",))
    assert run(db_session, policy).created


def test_production_settings_give_the_strict_policy(app) -> None:
    settings = app.extensions["tandem.settings"]
    strict = dr.registration_policy(settings.with_overrides(env="production"))
    assert strict.require_https and strict.address_guard is not None
    relaxed = dr.registration_policy(settings)
    assert not relaxed.require_https and relaxed.address_guard is None


def test_production_takes_an_invitation_before_anything_else(app, db_session, platform) -> None:
    settings = app.extensions["tandem.settings"].with_overrides(env="production")
    policy = dr.registration_policy(settings)
    guarded = dr.RegistrationPolicy(
        require_https=True, address_guard=client.AddressGuard(resolve=resolver({})),
        invitations=policy.invitations, invitation_required=policy.invitation_required,
    )
    with pytest.raises(InvitationRefused) as refused:
        run(db_session, guarded)
    assert refused.value.status == 403 and refused.value.code == "invitation_required"
    assert platform["fetched"] == []
    code = Invitations(settings.secret_key).issue("https://moodle.example.edu")
    outcome = dr.register_platform(
        db_session, configuration_url=CONFIG_URL, registration_token="t",
        urls=tool_urls("https://tandem.example.edu"), policy=guarded, invitation=code,
    )
    assert outcome.created
