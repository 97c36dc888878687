"""Building the rollups of an adopted database's existing rows, one account per batch.

Adoption queues every existing account in `analytics_adoption` (kind
`backfill_pending`) instead of rebuilding them all inside the migration's transaction.
Each batch rebuilds one account and removes its queue row in the same transaction, so
an interrupted backfill resumes where it stopped and never builds an account twice;
`SKIP LOCKED` lets several workers share the queue. The same batch fills the account's
flow counters (`usage_count`, `last_matched_at`, `success_rate`), which the product
never wrote.

While an account is rebuilt, writes to ai_sessions and psa_activity_log wait (SHARE
lock): the rollup triggers of a concurrent write could otherwise add its difference
to rows the rebuild is replacing. Reads go on.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.migrate import ADOPTION_MARKER

_PENDING = "backfill_pending"
_NEXT = text(
    f"SELECT subject FROM {ADOPTION_MARKER} WHERE kind = '{_PENDING}' "
    "ORDER BY subject LIMIT 1 FOR UPDATE SKIP LOCKED"
)
_COUNT = text(f"SELECT count(*) FROM {ADOPTION_MARKER} WHERE kind = '{_PENDING}'")
_LOCK = text("LOCK TABLE ai_sessions, psa_activity_log IN SHARE MODE")
_REBUILD = text("SELECT rollups_rebuild_account(:account)")
_SESSIONS = text("SELECT count(*) FROM ai_sessions WHERE account_id = :account")
_DONE = text(f"DELETE FROM {ADOPTION_MARKER} WHERE kind = '{_PENDING}' AND subject = :subject")
# The flows' lifetime counters (added empty by 0002) from the account's matched sessions:
# the latest match is taken as the latest matched session's start, and the success rate
# is the periodic job's (resolved / matched over the 90 x 24 h before now).
_COUNTERS = text(
    """
    UPDATE trees t
    SET usage_count = c.matches, last_matched_at = c.last_match,
        success_rate = c.resolved::double precision / nullif(c.recent, 0)
    FROM (
        SELECT matched_flow_id AS id, count(*) AS matches, max(started_at) AS last_match,
               count(*) FILTER (WHERE started_at > now() - interval '90 days') AS recent,
               count(*) FILTER (WHERE started_at > now() - interval '90 days'
                                  AND status = 'resolved') AS resolved
        FROM ai_sessions
        WHERE account_id = :account AND session_type = 'flowpilot'
          AND matched_flow_id IS NOT NULL
        GROUP BY matched_flow_id
    ) c
    WHERE t.id = c.id AND t.account_id = :account
    """
)
_BIND = text("SELECT set_config('app.current_account_id', :account, true)")


@dataclass(frozen=True)
class Batch:
    """One account built: its place in the queue and what it cost."""

    number: int
    total: int
    account_id: uuid.UUID
    sessions: int
    seconds: float

    def describe(self) -> str:
        return (
            f"rollups: {self.number}/{self.total} accounts built "
            f"(account {self.account_id}: {self.sessions} sessions in {self.seconds:.1f} s)"
        )


async def pending_accounts(connection: AsyncConnection) -> int:
    """Accounts still to build; 0 for a database that was not adopted."""
    marker = text(f"SELECT to_regclass('public.{ADOPTION_MARKER}') IS NOT NULL")
    if not (await connection.execute(marker)).scalar():
        return 0
    return int((await connection.execute(_COUNT)).scalar_one())


async def _build_next(engine: AsyncEngine) -> tuple[uuid.UUID, int] | None:
    async with engine.begin() as connection:
        subject = (await connection.execute(_NEXT)).scalar()
        if subject is None:
            return None
        account = uuid.UUID(subject)
        await connection.execute(_LOCK)
        await connection.execute(_BIND, {"account": str(account)})
        await connection.execute(_REBUILD, {"account": account})
        await connection.execute(_COUNTERS, {"account": account})
        sessions = int((await connection.execute(_SESSIONS, {"account": account})).scalar_one())
        await connection.execute(_DONE, {"subject": subject})
    return account, sessions


async def backfill(
    engine: AsyncEngine,
    on_batch: Callable[[Batch], None] = lambda batch: None,
    limit: int | None = None,
) -> int:
    """Build queued accounts (at most `limit`) one per transaction; returns how many."""
    async with engine.connect() as connection:
        total = await pending_accounts(connection)
    built = 0
    while total and (limit is None or built < limit):
        started = time.perf_counter()
        result = await _build_next(engine)
        if result is None:
            break
        built += 1
        account, sessions = result
        on_batch(Batch(built, total, account, sessions, time.perf_counter() - started))
    return built
