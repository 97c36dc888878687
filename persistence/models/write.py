"""Typed models of the write-path tables: per-account PSA connections and the push outbox.

They share `Base` with the product models so that one metadata describes the whole
migrated schema (Alembic's comparison stays exact); `persistence.models` imports this
module at its end so the tables are always registered.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base, one_of
from persistence.models.product import ACTIVITY_TYPES

PSA_PROVIDERS = ("connectwise",)
OUTBOX_STATES = ("pending", "done", "failed", "abandoned")
WRITE_TABLES = ("psa_connections", "psa_outbox")
"""Tenant tables added by the write paths (RLS enabled, forced, tenant_isolation)."""


class PsaConnection(Base):
    """One account's PSA API settings; the private key is stored Fernet-encrypted only."""

    __tablename__ = "psa_connections"
    __table_args__ = (
        CheckConstraint(one_of("provider", PSA_PROVIDERS), name="ck_psa_connections_provider"),
        CheckConstraint(
            "default_member_id IS NULL OR default_member_id > 0",
            name="ck_psa_connections_member",
        ),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("accounts.id", name="fk_psa_connections_account"),
        primary_key=True,
    )
    provider: Mapped[str] = mapped_column(Text, server_default=text("'connectwise'"))
    site: Mapped[str] = mapped_column(Text)
    codebase: Mapped[str] = mapped_column(Text)
    company_id: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(Text)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str] = mapped_column(Text)
    default_member_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class PsaOutbox(Base):
    """The intent of one push, written before the PSA is called and completed after."""

    __tablename__ = "psa_outbox"
    __table_args__ = (
        CheckConstraint(one_of("activity_type", ACTIVITY_TYPES), name="ck_psa_outbox_type"),
        CheckConstraint(one_of("state", OUTBOX_STATES), name="ck_psa_outbox_state"),
        CheckConstraint("hours_logged IS NULL OR hours_logged >= 0", name="ck_psa_outbox_hours"),
        CheckConstraint(
            "state <> 'done' OR external_id IS NOT NULL", name="ck_psa_outbox_done_has_id"
        ),
        UniqueConstraint("account_id", "idempotency_key", name="uq_psa_outbox_idempotency"),
        Index("ix_psa_outbox_state_created", "state", "created_at"),
        Index("ix_psa_outbox_session", "session_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", name="fk_psa_outbox_account")
    )
    session_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ai_sessions.id", name="fk_psa_outbox_session")
    )
    activity_type: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(Text, server_default=text("'connectwise'"))
    psa_ticket_id: Mapped[str] = mapped_column(Text)
    hours_logged: Mapped[float | None] = mapped_column(Float)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))
    external_id: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
