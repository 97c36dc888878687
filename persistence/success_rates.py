"""Recalculate `trees.success_rate` for every flow of every account.

success_rate = resolved / matched over the FlowPilot sessions (`session_type =
'flowpilot'`, as everywhere in the metrics) matched to the flow whose `started_at` lies in
the 90 days before the run (a rolling 90 × 24 h window, not calendar days); null when
there are none. Archived flows are recalculated too (the column is lifetime data).

Row-level security stays in force: the run visits one account at a time, in its own
short transaction bound to that account (`app.current_account_id`), and updates all of
that account's flows with one set-based statement. The account ids come from the
`flowpilot_account_ids()` look-up (ids only). Short per-account transactions keep row
locks brief, so concurrent `recordFlowMatch` calls are never held up for the whole run.

An advisory lock makes runs exclusive across workers and replicas: the periodic job
uses `pg_try_advisory_xact_lock` and skips when another run holds it; the CLI waits for
it (`pg_advisory_xact_lock`), so two runs started at once run one after the other. The
lock is transaction-scoped, held by a transaction on a connection of its own that stays
open while the per-account transactions run on another, and ends with it (commit, error
or a lost connection alike). A session-level lock would not survive a pooler in
transaction mode: taken on one server connection and released on another, it would stay
held forever.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

ADVISORY_LOCK_KEY = 0x466C6F7752617465  # "FlowRate": one lock for the whole database
WINDOW_DAYS = 90

_ACCOUNTS = text("SELECT id FROM flowpilot_account_ids() AS id")
_BIND = text("SELECT set_config('app.current_account_id', :account_id, true)")
_NOW = text("SELECT clock_timestamp()")

# One statement per account: every flow of the account, changed or not, is examined; only
# changed rows are written (IS DISTINCT FROM), and RETURNING tells which.
_RECALCULATE = text(
    """
    WITH stats AS (
        SELECT s.matched_flow_id AS flow_id,
               count(*) AS matched,
               count(*) FILTER (WHERE s.status = 'resolved') AS resolved
        FROM ai_sessions s
        WHERE s.account_id = :account_id
          AND s.session_type = 'flowpilot'
          AND s.matched_flow_id IS NOT NULL
          AND s.started_at > :since
        GROUP BY s.matched_flow_id
    ),
    rates AS (
        SELECT t.id, st.resolved::double precision / nullif(st.matched, 0) AS rate
        FROM trees t
        LEFT JOIN stats st ON st.flow_id = t.id
        WHERE t.account_id = :account_id
    ),
    changed AS (
        UPDATE trees t
        SET success_rate = r.rate
        FROM rates r
        WHERE t.id = r.id AND t.account_id = :account_id
          AND t.success_rate IS DISTINCT FROM r.rate
        RETURNING t.id
    )
    SELECT (SELECT count(*) FROM rates) AS flows, (SELECT count(*) FROM changed) AS changed
    """
)


@dataclass(frozen=True)
class RecalcResult:
    """What one run did; `started_at`/`finished_at` are the database's clock under the lock."""

    accounts: int
    flows: int
    changed: int
    duration_s: float
    started_at: datetime
    finished_at: datetime


async def recalculate_account(
    connection: AsyncConnection, account_id: uuid.UUID, since: datetime
) -> tuple[int, int]:
    """(flows examined, flows changed) for one account, in one committed transaction."""
    async with connection.begin():
        await connection.execute(_BIND, {"account_id": str(account_id)})
        row = (
            await connection.execute(_RECALCULATE, {"account_id": account_id, "since": since})
        ).one()
    return int(row.flows), int(row.changed)


async def _acquire(holder: AsyncConnection, wait: bool) -> bool:
    """Take the run's lock in `holder`'s open transaction, which holds it until it ends."""
    if wait:
        # Waiting for another run may take longer than the pool's statement timeout.
        await holder.execute(text("SET LOCAL statement_timeout = 0"))
        await holder.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        return True
    got = await holder.execute(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
    )
    return bool(got.scalar_one())


async def recalculate_success_rates(
    engine: AsyncEngine, *, wait: bool = False, now: datetime | None = None
) -> RecalcResult | None:
    """Recalculate every account's flows; None when `wait` is False and another run holds
    the lock. `now` pins the window's end (tests); by default the database's clock.
    Uses two of the engine's connections: the lock's holder and the work's."""
    async with engine.connect() as holder, holder.begin():
        if not await _acquire(holder, wait):
            logger.info("success-rate recalculation skipped: another worker is running it")
            return None
        async with engine.connect() as connection:
            result = await _recalculate(connection, now)
    logger.info(
        "success rates recalculated: %d flows in %d accounts, %d changed, in %.3f s",
        result.flows,
        result.accounts,
        result.changed,
        result.duration_s,
    )
    return result


async def _recalculate(connection: AsyncConnection, now: datetime | None) -> RecalcResult:
    async with connection.begin():
        started_at = (await connection.execute(_NOW)).scalar_one()
        accounts = [row.id for row in await connection.execute(_ACCOUNTS)]
    clock = time.perf_counter()
    window_end = now or started_at
    since = window_end - timedelta(days=WINDOW_DAYS)
    flows = changed = 0
    for account_id in accounts:
        examined, updated = await recalculate_account(connection, account_id, since)
        flows += examined
        changed += updated
    duration = time.perf_counter() - clock
    async with connection.begin():
        finished_at = (await connection.execute(_NOW)).scalar_one()
    return RecalcResult(len(accounts), flows, changed, duration, started_at, finished_at)
