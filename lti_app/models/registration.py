"""Platforms (LMS sites) that registered Tandem, their deployments, and the tool's own signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_app.models.base import Base, TimestampMixin


class Registration(TimestampMixin, Base):
    """One (issuer, client id) pair: a tenant. Canvas uses one issuer for every customer with many client
    ids, so the issuer alone never identifies a registration."""

    __tablename__ = "registration"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1000))
    auth_token_url: Mapped[str] = mapped_column(String(1000))
    # Some platforms (Brightspace, Blackboard) want a different "aud" in client assertions than the token URL.
    auth_audience: Mapped[str | None] = mapped_column(String(1000))
    key_set_url: Mapped[str] = mapped_column(String(1000))
    product_family: Mapped[str] = mapped_column(String(50), default="")
    # Set by dynamic registration; Moodle keeps the new tool pending until an admin activates it.
    source: Mapped[str] = mapped_column(String(20), default="manual")
    is_active: Mapped[bool] = mapped_column(default=True)
    platform_jwks: Mapped[dict[str, Any] | None] = mapped_column()
    platform_jwks_fetched_at: Mapped[datetime | None] = mapped_column()
    moodle_ws_url: Mapped[str | None] = mapped_column(String(1000))
    moodle_ws_token_sealed: Mapped[str | None] = mapped_column(Text)
    moodle_field_map: Mapped[dict[str, Any] | None] = mapped_column()

    deployments: Mapped[list[Deployment]] = relationship(
        back_populates="registration", cascade="all, delete-orphan", order_by="Deployment.id"
    )

    @property
    def label(self) -> str:
        return self.name or f"{self.issuer} ({self.client_id})"


class Deployment(TimestampMixin, Base):
    __tablename__ = "deployment"
    __table_args__ = (UniqueConstraint("registration_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id", ondelete="CASCADE"), index=True)
    deployment_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200), default="")

    registration: Mapped[Registration] = relationship(back_populates="deployments")


class ToolKey(TimestampMixin, Base):
    """An RSA key the tool signs with. The newest active key signs; retired keys stay published in the
    JWKS for a grace period so tokens the platform already holds still verify."""

    __tablename__ = "tool_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(100), unique=True)
    private_key_sealed: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="active")
    retired_at: Mapped[datetime | None] = mapped_column()
