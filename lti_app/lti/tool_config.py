"""pylti1p3's tool configuration, read from the ``registration`` and ``deployment`` tables.

Every issuer is treated as having many client ids: Canvas uses one issuer for every customer, so the
issuer alone never finds a registration (pylti1p3's "one client per issuer" mode is never used).

The tool's private key is only needed to *sign* (deep linking responses, service tokens), never to verify a
launch, so it is loaded lazily through the ``tool_key`` callable and a plain launch never decrypts it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.registration import Registration as LtiRegistration
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.models.registration import Deployment, Registration

# (kid, private key PEM) of the key the tool signs with.
ToolKeyLoader = Callable[[], tuple[str, str]]


class TandemRegistration(LtiRegistration):
    """A pylti1p3 registration built from a ``Registration`` row; ``row`` stays at hand for the mapping."""

    def __init__(self, row: Registration, tool_key: ToolKeyLoader | None = None) -> None:
        self.row = row
        self._tool_key_loader = tool_key
        self._tool_key: tuple[str, str] | None = None
        self.set_issuer(row.issuer)
        self.set_client_id(row.client_id)
        self.set_key_set_url(row.key_set_url)
        self.set_auth_login_url(row.auth_login_url)
        self.set_auth_token_url(row.auth_token_url)
        if row.auth_audience:
            self.set_auth_audience(row.auth_audience)

    def _loaded_tool_key(self) -> tuple[str, str] | None:
        if self._tool_key is None and self._tool_key_loader is not None:
            self._tool_key = self._tool_key_loader()
        return self._tool_key

    def get_tool_private_key(self) -> str | None:
        key = self._loaded_tool_key()
        return key[1] if key else None

    def get_kid(self) -> str | None:
        key = self._loaded_tool_key()
        return key[0] if key else None


class DatabaseToolConf(ToolConfAbstract[Any]):
    """Registrations and deployments from the database, each looked up at most once per request."""

    def __init__(self, session: Session, tool_key: ToolKeyLoader | None = None) -> None:
        super().__init__()
        self._session = session
        self._tool_key = tool_key
        self._registrations: dict[tuple[str, str], Registration | None] = {}
        self._deployments: dict[tuple[int, str], Deployment | None] = {}

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    # ---- rows, for Tandem's own code

    def registration_row(self, iss: str, client_id: str) -> Registration | None:
        cache_key = (iss, client_id)
        if cache_key not in self._registrations:
            self._registrations[cache_key] = self._session.scalar(
                select(Registration).where(Registration.issuer == iss, Registration.client_id == client_id)
            )
        return self._registrations[cache_key]

    def only_registration_row(self, iss: str) -> Registration | None:
        """The registration of an issuer that has exactly one (a login may leave out ``client_id``)."""
        rows = self._session.scalars(select(Registration).where(Registration.issuer == iss).limit(2)).all()
        if len(rows) != 1:
            return None
        self._registrations[(iss, rows[0].client_id)] = rows[0]
        return rows[0]

    def deployment_row(self, registration: Registration, deployment_id: str) -> Deployment | None:
        cache_key = (registration.id, deployment_id)
        if cache_key not in self._deployments:
            self._deployments[cache_key] = self._session.scalar(
                select(Deployment).where(
                    Deployment.registration_id == registration.id, Deployment.deployment_id == deployment_id
                )
            )
        return self._deployments[cache_key]

    # ---- pylti1p3's interface

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> TandemRegistration | None:  # type: ignore[override]
        row = self.only_registration_row(iss)
        return TandemRegistration(row, self._tool_key) if row else None

    def find_registration_by_params(  # type: ignore[override]
        self, iss: str, client_id: str, *args: Any, **kwargs: Any
    ) -> TandemRegistration | None:
        row = self.registration_row(iss, client_id)
        return TandemRegistration(row, self._tool_key) if row else None

    def find_deployment(self, iss: str, deployment_id: str) -> LtiDeployment | None:
        row = self.only_registration_row(iss)
        return self._as_deployment(row, deployment_id)

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str, *args: Any, **kwargs: Any
    ) -> LtiDeployment | None:
        return self._as_deployment(self.registration_row(iss, client_id), deployment_id)

    def _as_deployment(self, registration: Registration | None, deployment_id: str) -> LtiDeployment | None:
        if registration is None or self.deployment_row(registration, deployment_id) is None:
            return None
        return LtiDeployment().set_deployment_id(deployment_id)
