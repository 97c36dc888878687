"""Building the analytics rollups from the raw tables, in chunks, while the product writes.

Triggers keep the rollups exact on every write; a build is for bulk loads that ran with
triggers disabled, for repairs, for a changed time zone and for an adopted database.
A build starts (the account's sums emptied, its writers in flight waited for) and then
runs chunks of sessions, each its own short transaction bound to the account, so a
product write waits at most for one chunk (each sized to take about
ROLLUP_BUILD_CHUNK_TARGET_MS, by the ones before it: persistence/chunk_sizing.py); the
triggers count concurrent writes to the part already built, and each chunk reads the
rest as it then stands (see migrations/versions/0011_rollups_built_in_chunks.py for why
the result is exact).

Each start and chunk gives the account a new data version in its own transaction, so no
cached answer outlives a chunk.

A build shares the database with the product: after each chunk it pauses for the chunk's
own time x (1 / duty cycle - 1) (`Pacing`, ROLLUP_BUILD_DUTY_CYCLE), so the write-ahead
log it writes and the disk flushes it needs leave the product's commits room (on a small
machine a product commit waits mostly for the log flush in front of it, not for a lock).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.chunk_sizing import ChunkSizing
from persistence.tenancy import account_transaction

SIZED = ChunkSizing()
"""Chunks sized to take the default target duration each."""

Clock = Callable[[], float]

CHUNK_COMMIT = text(
    "SELECT pg_catalog.set_config('synchronous_commit', 'off', true),"
    " (SELECT pg_catalog.set_config('wal_compression', 'on', true) FROM pg_catalog.pg_roles"
    " WHERE rolname = current_user AND rolsuper)"
)
"""Sent first in every chunk's transaction: its commit does not wait for the log flush,
and when the building role may set it (a superuser's setting, as for `migrate`'s index
builds), the full-page images the chunk writes to the log are compressed: the product's
next commits flush the chunk's log before their own, so the less of it, the shorter
their wait.

Safe because a chunk is redone from the build's watermark. A crash can lose only the
asynchronous commits whose log was not yet flushed, and the log is flushed in order: a
chunk lost that way takes with it every later commit too, so no product write whose
trigger counted on that chunk's watermark survives it (its commit record comes later in
the log; a synchronous product commit flushes the chunk's first). After recovery the
rollup rows and the watermark (`rollup_builds`, written in the chunk's own transaction)
are those of the last chunk kept, and the next chunk reads (lo, hi] again from there.
What it buys: the chunk ends, and releases its hold on the account's writers, without
waiting for the disk; its log is flushed by the WAL writer or the next commit."""

_START = text("SELECT public.rollup_build_start(:account_id)")
_STEP = text("SELECT public.rollup_build_step(:account_id, :chunk)")
# SECURITY DEFINER (0003): lists account ids only, whatever the caller's RLS setting.
_ACCOUNTS = text("SELECT id FROM flowpilot_account_ids() AS t(id)")
# SECURITY DEFINER (0011): the accounts whose build has started and not finished.
_BUILDING = text("SELECT id FROM public.rollup_building_account_ids() AS t(id)")


@dataclass(frozen=True)
class Pacing:
    """The share of the time a build works: 1 runs the chunks back to back, 0.5 pauses
    after each chunk as long as it took (ROLLUP_BUILD_DUTY_CYCLE)."""

    duty_cycle: float = 1.0

    def pause_after(self, worked_s: float) -> float:
        """Seconds to rest after `worked_s` of work."""
        return max(0.0, worked_s) * (1.0 / self.duty_cycle - 1.0)

    async def rest(self, worked_s: float) -> None:
        pause = self.pause_after(worked_s)
        if pause > 0:
            await asyncio.sleep(pause)


UNPACED = Pacing()


@dataclass(frozen=True)
class Chunks:
    """An account's chunks as they ran: how many, their sizes, the longest (what a writer
    may wait) and the seconds spent in them (the rest of a build is the pacing's rest)."""

    count: int
    smallest: int
    largest: int
    longest_s: float
    working_s: float
    last_s: float

    def sizes(self) -> str:
        """`of 100 sessions` or `of 100 to 2400 sessions`, for a progress line."""
        if self.smallest == self.largest:
            return f"of {self.largest} sessions"
        return f"of {self.smallest} to {self.largest} sessions"


async def run_chunks(
    step: Callable[[int], Awaitable[bool]],
    chunk: ChunkSizing | int = SIZED,
    pacing: Pacing = UNPACED,
    clock: Clock = time.perf_counter,
) -> Chunks:
    """`step(sessions)` until it says the account is complete, each call sized by
    `chunk` from the ones before it, with the pacing's rest after each but the last."""
    sizer = ChunkSizing.of(chunk).sizer()
    count, smallest, largest, longest, working = 0, sizer.size, sizer.size, 0.0, 0.0
    while True:
        size = sizer.size
        began = clock()
        done = await step(size)
        worked = clock() - began
        count += 1
        smallest, largest = min(smallest, size), max(largest, size)
        longest, working = max(longest, worked), working + worked
        if done:
            return Chunks(count, smallest, largest, longest, working, worked)
        sizer.record(worked)
        await pacing.rest(worked)


@dataclass(frozen=True)
class Build:
    """One account built: how many chunks, and the longest (what a writer may wait)."""

    account_id: uuid.UUID
    chunks: int
    seconds: float
    longest_chunk_s: float
    smallest_chunk: int = 0
    largest_chunk: int = 0


async def start_build(
    sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID
) -> None:
    """Start (or restart) building the account from nothing; chunks then finish it."""
    async with account_transaction(sessionmaker, account_id) as session:
        await session.execute(_START, {"account_id": account_id})


async def build_chunk(
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: uuid.UUID,
    chunk: int,
) -> bool:
    """Build the account's next `chunk` sessions in one transaction; True when it is
    complete."""
    async with account_transaction(sessionmaker, account_id) as session:
        await session.execute(CHUNK_COMMIT)
        done = bool(
            (await session.execute(_STEP, {"account_id": account_id, "chunk": chunk})).scalar_one()
        )
    return done


async def finish_build(
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: uuid.UUID,
    chunk: ChunkSizing | int = SIZED,
    pacing: Pacing = UNPACED,
    clock: Clock = time.perf_counter,
) -> Build:
    """Run the chunks of a started build until the account is complete, sized and paced
    (`chunk`: a sizing, or a fixed number of sessions)."""
    started = clock()

    async def step(sessions: int) -> bool:
        return await build_chunk(sessionmaker, account_id, sessions)

    ran = await run_chunks(step, chunk, pacing, clock)
    seconds = clock() - started
    return Build(account_id, ran.count, seconds, ran.longest_s, ran.smallest, ran.largest)


async def rebuild_account(
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: uuid.UUID,
    chunk: ChunkSizing | int = SIZED,
    pacing: Pacing = UNPACED,
) -> Build:
    """Recompute every rollup row of one account, chunk by chunk."""
    await start_build(sessionmaker, account_id)
    return await finish_build(sessionmaker, account_id, chunk, pacing)


async def rebuild_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    chunk: ChunkSizing | int = SIZED,
    on_build: Callable[[Build], None] = lambda build: None,
    pacing: Pacing = UNPACED,
) -> int:
    """Rebuild every account's rollups, account by account; returns the number rebuilt."""
    async with sessionmaker() as session:
        ids = list((await session.execute(_ACCOUNTS)).scalars())
    for account_id in ids:
        on_build(await rebuild_account(sessionmaker, account_id, chunk, pacing))
    return len(ids)


async def finish_started_builds(
    sessionmaker: async_sessionmaker[AsyncSession],
    chunk: ChunkSizing | int = SIZED,
    pacing: Pacing = UNPACED,
) -> list[Build]:
    """Finish every build that was started (a time-zone change, an interrupted rebuild)."""
    async with sessionmaker() as session:
        ids = list((await session.execute(_BUILDING)).scalars())
    return [await finish_build(sessionmaker, account_id, chunk, pacing) for account_id in ids]
