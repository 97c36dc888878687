"""Building the rollups of an adopted database's existing rows, account by account.

Adoption queues every existing account in `analytics_adoption` (kind
`backfill_pending`) instead of rebuilding them all inside the migration's transaction.
An account is built in chunks (persistence/rollups.py): a start, then chunks of
sessions, each its own short transaction sized to take about ROLLUP_BUILD_CHUNK_TARGET_MS
(persistence/chunk_sizing.py), so product writes to `ai_sessions`
and `psa_activity_log` wait at most for one chunk, never for the whole account. After
the last chunk one more transaction fills the account's flow counters (`usage_count`,
`last_matched_at`, `success_rate`, which the product never wrote) and removes its queue
row, so an interrupted backfill resumes where it stopped (mid-account too: the build's
watermark is kept; interrupted between the last chunk and the counters, the account is
built again) and never finishes an account twice; `SKIP LOCKED` spreads the accounts'
starts over several workers. The chunks are paced and commit asynchronously, as every
build's (persistence/rollups.py says why both are safe).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.chunk_sizing import ChunkSizing
from persistence.operations.migrate import ADOPTION_MARKER
from persistence.rollups import CHUNK_COMMIT, SIZED, UNPACED, Chunks, Clock, Pacing, run_chunks

_PENDING = "backfill_pending"
_NEXT = text(
    f"SELECT subject FROM {ADOPTION_MARKER} WHERE kind = '{_PENDING}' "
    "ORDER BY subject LIMIT 1 FOR UPDATE SKIP LOCKED"
)
_COUNT = text(f"SELECT count(*) FROM {ADOPTION_MARKER} WHERE kind = '{_PENDING}'")
_BUILDING = text("SELECT count(*) FROM public.rollup_builds WHERE account_id = :account")
_START = text("SELECT public.rollup_build_start(:account)")
_STEP = text("SELECT public.rollup_build_step(:account, :chunk)")
_SESSIONS = text("SELECT count(*) FROM ai_sessions WHERE account_id = :account")
_DONE = text(f"DELETE FROM {ADOPTION_MARKER} WHERE kind = '{_PENDING}' AND subject = :subject")
# The flows' lifetime counters (added empty by 0002) from the account's matched sessions:
# the latest match is taken as the latest matched session's start (or a flow match's own
# time, when one committed before), and the success rate is the periodic job's (resolved /
# matched over the 90 x 24 h before now).
_COUNTERS = text(
    """
    UPDATE trees t
    SET usage_count = c.matches, last_matched_at = greatest(t.last_matched_at, c.last_match),
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

_LOCK_FLOWS = text("SELECT 1 FROM trees WHERE account_id = :account ORDER BY id FOR UPDATE")


@dataclass(frozen=True)
class Batch:
    """One account built: its place in the queue and what it cost."""

    number: int
    total: int
    account_id: uuid.UUID
    sessions: int
    seconds: float
    chunks: Chunks
    counters_s: float = 0.0

    def describe(self) -> str:
        chunks = self.chunks
        return (
            f"rollups: {self.number}/{self.total} accounts built "
            f"(account {self.account_id}: {self.sessions} sessions in {self.seconds:.1f} s, "
            f"{chunks.count} chunks {chunks.sizes()}, the longest {chunks.longest_s:.2f} s, "
            f"{chunks.working_s:.1f} s in chunks, flow counters {self.counters_s:.2f} s)"
        )


async def pending_accounts(connection: AsyncConnection) -> int:
    """Accounts still to build; 0 for a database that was not adopted."""
    marker = text(f"SELECT to_regclass('public.{ADOPTION_MARKER}') IS NOT NULL")
    if not (await connection.execute(marker)).scalar():
        return 0
    return int((await connection.execute(_COUNT)).scalar_one())


async def start_next(engine: AsyncEngine) -> uuid.UUID | None:
    """The next queued account, its build started unless an interrupted one is under way."""
    async with engine.begin() as connection:
        subject = (await connection.execute(_NEXT)).scalar()
        if subject is None:
            return None
        account = uuid.UUID(subject)
        await connection.execute(_BIND, {"account": str(account)})
        if not (await connection.execute(_BUILDING, {"account": account})).scalar_one():
            await connection.execute(_START, {"account": account})
    return account


async def build_chunk(engine: AsyncEngine, account: uuid.UUID, chunk: int) -> bool:
    """One chunk, committed asynchronously; True when it was the account's last."""
    async with engine.begin() as connection:
        await connection.execute(CHUNK_COMMIT)
        await connection.execute(_BIND, {"account": str(account)})
        done = (await connection.execute(_STEP, {"account": account, "chunk": chunk})).scalar_one()
    return bool(done)


async def fill_counters(engine: AsyncEngine, account: uuid.UUID) -> int:
    """The flows' lifetime counters from the account's matched sessions, in a transaction
    of their own: the aggregate reads every session of the account (a second at 1.5M), which
    inside the last chunk would hold the account's writers for as long. Exact all the same:
    the account's flows are locked first, so a flow match either committed before (and is
    in the aggregate, whose snapshot starts after the lock) or waits and adds its 1 after.
    A match in flight holds its flow's row already (the foreign key's check of its session
    update takes a share of it, before the update moves the account's data version), so
    the lock waits for it to commit; one that has not reached its session update waits
    for the fill at that check, holding nothing the fill needs
    (tests/persistence/test_backfill_counters.py)."""
    async with engine.begin() as connection:
        await connection.execute(_BIND, {"account": str(account)})
        await connection.execute(_LOCK_FLOWS, {"account": account})
        await connection.execute(_COUNTERS, {"account": account})
        found = await connection.execute(_SESSIONS, {"account": account})
        sessions = int(found.scalar_one())
        await connection.execute(_DONE, {"subject": str(account)})
    return sessions


async def _build_next(
    engine: AsyncEngine, chunk: ChunkSizing | int, pacing: Pacing, clock: Clock
) -> Batch | None:
    started = clock()
    account = await start_next(engine)
    if account is None:
        return None

    async def step(sessions: int) -> bool:
        return await build_chunk(engine, account, sessions)

    chunks = await run_chunks(step, chunk, pacing, clock)
    await pacing.rest(chunks.last_s)
    began = clock()
    sessions = await fill_counters(engine, account)
    counters = clock() - began
    await pacing.rest(counters)
    return Batch(0, 0, account, sessions, clock() - started, chunks, counters)


async def backfill(
    engine: AsyncEngine,
    on_batch: Callable[[Batch], None] = lambda batch: None,
    limit: int | None = None,
    chunk: ChunkSizing | int = SIZED,
    pacing: Pacing = UNPACED,
    on_start: Callable[[int], None] = lambda accounts: None,
    clock: Clock = time.perf_counter,
) -> int:
    """Build queued accounts (at most `limit`), each in chunks sized by `chunk` (a fixed
    number of sessions when a number), paced; returns how many. `on_start` hears how
    many accounts are queued before the first is started."""
    async with engine.connect() as connection:
        total = await pending_accounts(connection)
    if total:
        on_start(total)
    built = 0
    while total and (limit is None or built < limit):
        batch = await _build_next(engine, chunk, pacing, clock)
        if batch is None:
            break
        built += 1
        on_batch(replace(batch, number=built, total=total))
    return built
