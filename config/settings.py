"""Every setting Tandem reads, from ``TANDEM_*`` environment variables, in one place.

Nothing else in the code base reads ``os.environ``: the app factory takes a ``Settings`` object, so tests and
scripts build one explicitly and production refuses to start with an unsafe one.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

ENVIRONMENTS = ("development", "test", "production")
# Development and tests get a fixed, public key when none is set: anyone can sign launch tokens with it, so
# it is accepted only while TANDEM_BASE_URL is an address nobody else reaches (see Settings.problems).
DEVELOPMENT_SECRET_KEY = "insecure-development-key"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_DIR = PROJECT_ROOT / "instance"


def is_loopback_url(url: str) -> bool:
    """True when only this machine reaches ``url``: localhost (and ``*.localhost``), 127.0.0.0/8, ::1, or
    a ``*.test`` name (RFC 2606, never resolved on the internet; the tests' tool lives at one)."""
    host = (urlparse(url).hostname or "").lower().rstrip(".")
    if host in ("localhost", "test") or host.endswith((".localhost", ".test")):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SettingsError(RuntimeError):
    """The environment does not describe a safe configuration; the message names every problem."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = ""
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:5000"
    redis_url: str | None = None
    smtp_url: str | None = None
    mail_from: str = "Tandem <tandem@localhost>"
    log_level: str = "INFO"
    instance_dir: Path = DEFAULT_INSTANCE_DIR
    # A launch token is the only credential a page carries inside the LMS frame: short-lived, refreshed on
    # use.
    launch_token_ttl_seconds: int = 2 * 3600
    # However often it is refreshed, a launch token is refused this long after its launch: a leaked link dies.
    launch_token_max_age_seconds: int = 8 * 3600
    # Leeway for clock skew between platform and tool when checking iat/exp of platform tokens.
    jwt_leeway_seconds: int = 60
    platform_jwks_ttl_seconds: int = 3600
    max_request_bytes: int = 1024 * 1024
    demo_enabled: bool = True
    # Platforms whose admins operate the whole tool (rotate its keys, see every registration), each written
    # "client_id@issuer"; everyone else's admins see only their own platform.
    operator_platforms: tuple[str, ...] = ()
    # How a trainer's "Sync roster" runs: "thread" (a background thread of the web process: development and
    # small sites) or "worker" (queued for `tandem roster sync --pending`, run by the worker).
    roster_sync: str = "thread"
    # Private networks (CIDR) that dynamic registration may reach in production, e.g. an LMS on the campus
    # network; loopback, private and link-local addresses are refused otherwise.
    platform_networks: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def demo_allowed(self) -> bool:
        """The built-in demo LMS signs launches with a key anyone can read: never in production."""
        return self.demo_enabled and not self.is_production

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        mode = env.get("TANDEM_ENV", "development").strip().lower() or "development"
        if mode not in ENVIRONMENTS:
            raise SettingsError(f"TANDEM_ENV must be one of {', '.join(ENVIRONMENTS)}, got {mode!r}")
        instance_dir = Path(env.get("TANDEM_INSTANCE_DIR") or DEFAULT_INSTANCE_DIR)
        database_url = env.get("TANDEM_DATABASE_URL", "").strip()
        if not database_url and mode != "production":
            database_url = f"sqlite:///{instance_dir / 'tandem.sqlite'}"
        secret_key = env.get("TANDEM_SECRET_KEY", "")
        if not secret_key and mode != "production":
            secret_key = DEVELOPMENT_SECRET_KEY
        settings = cls(
            env=mode,
            database_url=database_url,
            secret_key=secret_key,
            base_url=(env.get("TANDEM_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
            redis_url=env.get("TANDEM_REDIS_URL") or None,
            smtp_url=env.get("TANDEM_SMTP_URL") or None,
            mail_from=env.get("TANDEM_MAIL_FROM") or cls.mail_from,
            log_level=(env.get("TANDEM_LOG_LEVEL") or "INFO").upper(),
            instance_dir=instance_dir,
            launch_token_ttl_seconds=_int(env, "TANDEM_LAUNCH_TOKEN_TTL", cls.launch_token_ttl_seconds),
            launch_token_max_age_seconds=_int(
                env, "TANDEM_LAUNCH_TOKEN_MAX_AGE", cls.launch_token_max_age_seconds
            ),
            jwt_leeway_seconds=_int(env, "TANDEM_JWT_LEEWAY", cls.jwt_leeway_seconds),
            platform_jwks_ttl_seconds=_int(env, "TANDEM_PLATFORM_JWKS_TTL", cls.platform_jwks_ttl_seconds),
            max_request_bytes=_int(env, "TANDEM_MAX_REQUEST_BYTES", cls.max_request_bytes),
            demo_enabled=_bool(env.get("TANDEM_DEMO"), True),
            operator_platforms=tuple(
                p.strip() for p in (env.get("TANDEM_OPERATOR_PLATFORMS") or "").split(",") if p.strip()
            ),
            roster_sync=(env.get("TANDEM_ROSTER_SYNC") or cls.roster_sync).strip().lower(),
            platform_networks=tuple(
                n.strip() for n in (env.get("TANDEM_PLATFORM_NETWORKS") or "").split(",") if n.strip()
            ),
        )
        settings.validate()
        return settings

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def problems(self) -> list[str]:
        """Every reason this configuration is unsafe to serve with, in words an operator can act on."""
        found: list[str] = []
        if not self.database_url:
            found.append("TANDEM_DATABASE_URL is not set")
        if self.roster_sync not in ("thread", "worker"):
            found.append("TANDEM_ROSTER_SYNC must be thread or worker")
        for network in self.platform_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                found.append(f"TANDEM_PLATFORM_NETWORKS: {network!r} is not a network such as 10.20.0.0/16")
        development_key = self.secret_key in ("", DEVELOPMENT_SECRET_KEY)
        if not self.is_production and development_key and not is_loopback_url(self.base_url):
            found.append(
                f"TANDEM_ENV is {self.env} (the default when unset), which signs launch tokens with a "
                f"public development key, yet TANDEM_BASE_URL ({self.base_url}) is an address other "
                "machines reach, so anyone could sign in as anyone. For a real deployment set "
                "TANDEM_ENV=production (with TANDEM_SECRET_KEY, an https TANDEM_BASE_URL and "
                "PostgreSQL); for a development server on a shared address set TANDEM_SECRET_KEY to a "
                "random value of 32+ characters (python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
        if self.is_production:
            if not self.secret_key or self.secret_key == DEVELOPMENT_SECRET_KEY:
                found.append("TANDEM_SECRET_KEY is not set")
            elif len(self.secret_key) < 32:
                found.append("TANDEM_SECRET_KEY must be at least 32 characters")
            if urlparse(self.base_url).scheme != "https":
                found.append(
                    "TANDEM_BASE_URL must be an https:// URL (LMS platforms only launch https tools)"
                )
            if self.is_sqlite:
                found.append("TANDEM_DATABASE_URL must not be SQLite in production (use PostgreSQL)")
        return found

    def validate(self) -> None:
        found = self.problems()
        if found:
            raise SettingsError("Tandem cannot start: " + "; ".join(found) + ".")
