"""Typed SQLAlchemy models of the product tables (see the database contract), and the
analytics' activity log beside them.

The constraints here mirror the migrations exactly, so that Alembic's autogenerate
comparison finds no difference between the models and the migrated schema.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from core.metrics.keys import domain_key_sql
from persistence.models.base import Base, one_of

ROLES = ("engineer", "team_admin", "admin")
FLOW_STATUSES = ("draft", "published", "archived")
SESSION_TYPES = ("flowpilot", "assistant")
SESSION_STATUSES = (
    "active",
    "paused",
    "resolved",
    "escalated",
    "requesting_escalation",
    "abandoned",
)
CONFIDENCE_TIERS = ("discovery", "exploring", "guided")
CATEGORY_KEY_SQL = domain_key_sql("category")
PROBLEM_DOMAIN_KEY_SQL = (
    "coalesce(lower(btrim(regexp_replace(problem_domain, '\\s+', ' ', 'g'))), '')"
)
ACTIVITY_TYPES = ("time_entry_posted", "note_posted", "status_updated")


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text, server_default=text("'UTC'"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("account_id", "email", name="uq_users_account_email"),
        CheckConstraint(one_of("role", ROLES), name="ck_users_role"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", name="fk_users_account")
    )
    email: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class Tree(Base):
    """A troubleshooting flow (decision tree)."""

    __tablename__ = "trees"
    __table_args__ = (
        CheckConstraint(one_of("status", FLOW_STATUSES), name="ck_trees_status"),
        CheckConstraint("usage_count >= 0", name="ck_trees_usage_count"),
        CheckConstraint(
            "success_rate IS NULL OR (success_rate >= 0 AND success_rate <= 1)",
            name="ck_trees_success_rate",
        ),
        Index("ix_trees_account_id", "account_id"),
        # On the domain key of `category` (core.metrics.keys), which the analytics compute.
        Index("ix_trees_account_category_key", "account_id", text(f"({CATEGORY_KEY_SQL})")),
        Index(
            "ix_trees_account_category_key_name",
            "account_id",
            text(f"({CATEGORY_KEY_SQL})"),
            text('name COLLATE "C"'),
            "id",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", name="fk_trees_account")
    )
    name: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=text("'published'"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    usage_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    success_rate: Mapped[float | None] = mapped_column(Float)
    last_matched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AiSession(Base):
    """A FlowPilot (or assistant) troubleshooting session."""

    __tablename__ = "ai_sessions"
    __table_args__ = (
        CheckConstraint(one_of("session_type", SESSION_TYPES), name="ck_ai_sessions_type"),
        CheckConstraint(one_of("status", SESSION_STATUSES), name="ck_ai_sessions_status"),
        CheckConstraint(
            f"confidence_tier IS NULL OR {one_of('confidence_tier', CONFIDENCE_TIERS)}",
            name="ck_ai_sessions_confidence_tier",
        ),
        CheckConstraint(
            "match_confidence IS NULL OR (match_confidence >= 0 AND match_confidence <= 1)",
            name="ck_ai_sessions_match_confidence",
        ),
        CheckConstraint(
            "rating IS NULL OR (rating >= 1 AND rating <= 5)", name="ck_ai_sessions_rating"
        ),
        Index("ix_ai_sessions_account_started", "account_id", "started_at"),
        # A flow's sessions newest first, in the evidence's keyset order (started_at, id).
        Index(
            "ix_ai_sessions_account_flow_started_id",
            "account_id",
            "matched_flow_id",
            "started_at",
            "id",
        ),
        # A domain's sessions newest first (the evidence's keyset), on the analytics' key.
        Index(
            "ix_ai_sessions_account_domain_key_started",
            "account_id",
            text(f"({PROBLEM_DOMAIN_KEY_SQL})"),
            "started_at",
            "id",
        ),
        # An account's sessions in key order: the rollup build's chunks (revision 0016).
        Index("ix_ai_sessions_rollup_build", "account_id", "id"),
        Index("ix_ai_sessions_matched_flow", "matched_flow_id"),
        Index("ix_ai_sessions_user", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", name="fk_ai_sessions_account")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", name="fk_ai_sessions_user")
    )
    session_type: Mapped[str] = mapped_column(Text, server_default=text("'flowpilot'"))
    problem_domain: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=text("'active'"))
    confidence_tier: Mapped[str | None] = mapped_column(Text)
    matched_flow_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("trees.id", name="fk_ai_sessions_matched_flow")
    )
    match_confidence: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    psa_ticket_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class PsaActivityLog(Base):
    """One successful push to the PSA (time entry, note or status change)."""

    __tablename__ = "psa_activity_log"
    __table_args__ = (
        CheckConstraint(one_of("activity_type", ACTIVITY_TYPES), name="ck_psa_activity_log_type"),
        CheckConstraint(
            "hours_logged IS NULL OR hours_logged >= 0", name="ck_psa_activity_log_hours"
        ),
        UniqueConstraint(
            "account_id",
            "provider",
            "activity_type",
            "external_id",
            name="uq_psa_activity_log_push",
        ),
        Index("ix_psa_activity_log_account_created", "account_id", "created_at"),
        Index("ix_psa_activity_log_session", "session_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", name="fk_psa_activity_log_account")
    )
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ai_sessions.id", name="fk_psa_activity_log_session")
    )
    activity_type: Mapped[str] = mapped_column(Text)
    hours_logged: Mapped[float | None] = mapped_column(Float)
    psa_ticket_id: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(Text, server_default=text("'connectwise'"))
    external_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


TENANT_TABLES = ("accounts", "users", "trees", "ai_sessions", "psa_activity_log")
