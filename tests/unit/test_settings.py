from pathlib import Path

import pytest

from config.settings import Settings, SettingsError


def test_development_defaults_to_sqlite_under_instance() -> None:
    settings = Settings.from_env({"TANDEM_INSTANCE_DIR": "/tmp/x"})
    assert settings.database_url == f"sqlite:///{Path('/tmp/x') / 'tandem.sqlite'}"
    assert settings.demo_allowed


def test_production_names_every_missing_setting() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"TANDEM_ENV": "production", "TANDEM_BASE_URL": "http://tandem.example"})
    message = str(info.value)
    assert "TANDEM_SECRET_KEY is not set" in message
    assert "TANDEM_BASE_URL must be an https:// URL" in message
    assert "TANDEM_DATABASE_URL is not set" in message


def test_production_refuses_sqlite() -> None:
    with pytest.raises(SettingsError, match="must not be SQLite"):
        Settings.from_env(
            {
                "TANDEM_ENV": "production",
                "TANDEM_SECRET_KEY": "x" * 40,
                "TANDEM_BASE_URL": "https://tandem.example",
                "TANDEM_DATABASE_URL": "sqlite:///tandem.sqlite",
            }
        )


def test_production_accepts_safe_configuration() -> None:
    settings = Settings.from_env(
        {
            "TANDEM_ENV": "production",
            "TANDEM_SECRET_KEY": "x" * 40,
            "TANDEM_BASE_URL": "https://tandem.example/",
            "TANDEM_DATABASE_URL": "postgresql+psycopg://db/tandem",
        }
    )
    assert settings.base_url == "https://tandem.example"
    assert not settings.demo_allowed


def test_unknown_environment_and_bad_numbers_are_refused() -> None:
    with pytest.raises(SettingsError, match="TANDEM_ENV"):
        Settings.from_env({"TANDEM_ENV": "staging"})
    with pytest.raises(SettingsError, match="TANDEM_JWT_LEEWAY"):
        Settings.from_env({"TANDEM_JWT_LEEWAY": "soon"})
