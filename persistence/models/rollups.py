"""Typed models of the rollup tables (derived data, maintained by triggers; see 0004_rollups.sql).

They share `Base` so that one metadata describes the whole migrated schema and Alembic's
comparison stays exact. Nothing writes them through the ORM: triggers and
`rollups_rebuild_account()` do. Sessions are summed per dyadic block of account-local
days (`level` k, `block` = day number since 1970-01-01 >> k); PSA activity per local day.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, Integer, Numeric, SmallInteger, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base

TOP_LEVEL = 9
"""Blocks span 2^0 .. 2^9 days. The one definition the readers use; the triggers of
migrations/versions/0004_rollups.sql spell 9 out (history stays as it ran), and
tests/persistence/test_migration_sql.py checks the migrated functions agree."""

ROLLUP_TABLES = (
    "rollup_session_blocks",
    "rollup_flow_blocks",
    "rollup_psa_days",
    "rollup_psa_time_sessions",
    "rollup_psa_time_chains",
    "rollup_session_pushes",
)
"""Tenant tables holding rollups (RLS enabled, forced, tenant_isolation)."""


def _uuid_key() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True)


class RollupSessionBlock(Base):
    """FlowPilot session counts of one block of days, domain key and trimmed spelling.

    Unmapped sessions (no domain key) have key '' and spelling ''.
    """

    __tablename__ = "rollup_session_blocks"

    account_id: Mapped[uuid.UUID] = _uuid_key()
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    block: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain_key: Mapped[str] = mapped_column(Text, primary_key=True)
    spelling: Mapped[str] = mapped_column(Text, primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    escalated: Mapped[int] = mapped_column(Integer)
    guided: Mapped[int] = mapped_column(Integer)
    exploring: Mapped[int] = mapped_column(Integer)
    discovery: Mapped[int] = mapped_column(Integer)
    resolution_count: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[Decimal] = mapped_column(Numeric)
    rating_sum: Mapped[int] = mapped_column(Integer)
    rating_count: Mapped[int] = mapped_column(Integer)
    linked: Mapped[int] = mapped_column(Integer)
    doc_pushed: Mapped[int] = mapped_column(Integer)
    time_logged: Mapped[int] = mapped_column(Integer)


class RollupFlowBlock(Base):
    """Sessions matched to one flow in one block of days."""

    __tablename__ = "rollup_flow_blocks"

    account_id: Mapped[uuid.UUID] = _uuid_key()
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    block: Mapped[int] = mapped_column(Integer, primary_key=True)
    flow_id: Mapped[uuid.UUID] = _uuid_key()
    usage: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    guided: Mapped[int] = mapped_column(Integer)
    confidence_sum: Mapped[Decimal] = mapped_column(Numeric)
    confidence_count: Mapped[int] = mapped_column(Integer)


class RollupPsaDay(Base):
    """PSA activity of one local day."""

    __tablename__ = "rollup_psa_days"

    account_id: Mapped[uuid.UUID] = _uuid_key()
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    time_entries: Mapped[int] = mapped_column(Integer)
    hours: Mapped[Decimal] = mapped_column(Numeric)
    notes: Mapped[int] = mapped_column(Integer)
    status_updates: Mapped[int] = mapped_column(Integer)


class RollupPsaTimeSession(Base):
    """Time entries of one session on one local day (the source of the chains)."""

    __tablename__ = "rollup_psa_time_sessions"

    account_id: Mapped[uuid.UUID] = _uuid_key()
    session_id: Mapped[uuid.UUID] = _uuid_key()
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    entries: Mapped[int] = mapped_column(Integer)


class RollupPsaTimeChain(Base):
    """Sessions whose time-entry days include `day` with `prev_day` the one before.

    A session has time entries in [a, b] exactly when one of its days d is in [a, b]
    with the previous day before a, so distinct sessions of a window are
    sum(sessions) over day in [a, b] and prev_day < a ('-infinity' for the first).
    """

    __tablename__ = "rollup_psa_time_chains"

    account_id: Mapped[uuid.UUID] = _uuid_key()
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    prev_day: Mapped[date] = mapped_column(Date, primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer)


class RollupSessionPushes(Base):
    """Notes and time entries of one session, of any date (the push funnel's flags)."""

    __tablename__ = "rollup_session_pushes"

    account_id: Mapped[uuid.UUID] = _uuid_key()
    session_id: Mapped[uuid.UUID] = _uuid_key()
    notes: Mapped[int] = mapped_column(Integer)
    time_entries: Mapped[int] = mapped_column(Integer)


class RollupBuild(Base):
    """An account whose rollups are being built, and the session id they are built through
    (NULL: none yet). No row: the account's rollups are complete. RLS enabled, not forced:
    the triggers, running as the owner, must see every build (0011)."""

    __tablename__ = "rollup_builds"

    account_id: Mapped[uuid.UUID] = _uuid_key()
    built_through: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
