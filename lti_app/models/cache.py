"""Short-lived shared state (nonces, OIDC state, launch data) when no Redis is configured: a table, so
several workers agree and nothing lives only in one process's memory."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lti_app.models.base import Base


class CacheEntry(Base):
    __tablename__ = "cache_entry"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(index=True)
