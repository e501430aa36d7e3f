"""Development defaults (a fixed secret key, the demo LMS and its operator rights) are safe only on a
machine nobody else reaches: Tandem refuses them on an address others can reach."""

from __future__ import annotations

import pytest

from config.settings import DEVELOPMENT_SECRET_KEY, Settings, SettingsError


@pytest.mark.parametrize("mode", ["development", "test", ""])
@pytest.mark.parametrize(
    "base_url", ["https://tandem.example.edu", "http://0.0.0.0:5000", "http://10.0.0.5:5000", "http://[fe80::1]"]
)
def test_default_secret_key_on_a_reachable_address_is_refused(mode: str, base_url: str) -> None:
    env = {"TANDEM_BASE_URL": base_url}
    if mode:
        env["TANDEM_ENV"] = mode
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)
    message = str(refused.value)
    assert "TANDEM_SECRET_KEY" in message and "TANDEM_ENV=production" in message
    assert "secrets.token_urlsafe" in message, "the message says how to make a key"


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:5000", "http://127.1.2.3", "http://localhost:5000", "http://[::1]:5000",
     "http://tool.test", "https://tandem.dev.test", "http://app.localhost:8000"],
)
def test_loopback_addresses_keep_the_development_defaults(base_url: str) -> None:
    settings = Settings.from_env({"TANDEM_BASE_URL": base_url})
    assert settings.secret_key == DEVELOPMENT_SECRET_KEY and settings.demo_allowed


def test_an_explicit_secret_key_allows_a_reachable_development_server() -> None:
    settings = Settings.from_env(
        {"TANDEM_BASE_URL": "https://tandem-dev.example.edu", "TANDEM_SECRET_KEY": "k" * 40}
    )
    assert settings.env == "development" and settings.secret_key == "k" * 40


def test_setting_the_development_key_by_hand_is_no_way_round() -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(
            {"TANDEM_BASE_URL": "https://tandem.example.edu", "TANDEM_SECRET_KEY": DEVELOPMENT_SECRET_KEY}
        )


def test_the_app_factory_refuses_such_settings_built_by_hand(tmp_path) -> None:
    from lti_app import create_app

    unsafe = Settings(
        env="development", database_url=f"sqlite:///{tmp_path / 't.sqlite'}",
        secret_key=DEVELOPMENT_SECRET_KEY, base_url="https://tandem.example.edu", instance_dir=tmp_path,
    )
    with pytest.raises(SettingsError, match="TANDEM_SECRET_KEY"):
        create_app(unsafe)
