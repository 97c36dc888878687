"""Typed models of the domain alias tables (revision 0015_domain_aliases).

An alias maps one spelling's domain key onto another domain's key for reading: the
rollups keep every spelling as written, and each tab merges them as it reads. The event
table is the audit trail of who added, removed or dismissed which mapping, and when.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base, one_of

ALIAS_ACTIONS = ("added", "removed", "dismissed")
ALIAS_TABLES = ("domain_aliases", "domain_alias_events")
"""Tenant tables of the aliases (RLS enabled, forced, tenant_isolation)."""


class DomainAlias(Base):
    """One spelling's key read as another domain's key; the target is never an alias."""

    __tablename__ = "domain_aliases"
    __table_args__ = (
        CheckConstraint("alias_key <> target_key", name="ck_domain_aliases_not_self"),
        Index("ix_domain_aliases_target", "account_id", "target_key"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("accounts.id", name="fk_domain_aliases_account"),
        primary_key=True,
    )
    alias_key: Mapped[str] = mapped_column(Text, primary_key=True)
    spelling: Mapped[str] = mapped_column(Text)
    target_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class DomainAliasEvent(Base):
    """An audit row: a mapping added or removed, or a suggested one dismissed."""

    __tablename__ = "domain_alias_events"
    __table_args__ = (
        CheckConstraint(one_of("action", ALIAS_ACTIONS), name="ck_domain_alias_events_action"),
        Index("ix_domain_alias_events_pair", "account_id", "alias_key", "target_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", name="fk_domain_alias_events_account")
    )
    alias_key: Mapped[str] = mapped_column(Text)
    target_key: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
