"""Building the analytics rollups from the raw tables, in chunks, while the product writes.

Triggers keep the rollups exact on every write; a build is for bulk loads that ran with
triggers disabled, for repairs, for a changed time zone and for an adopted database.
A build starts (the account's sums emptied, its writers in flight waited for) and then
runs chunks of `chunk` sessions, each its own short transaction bound to the account,
so a product write waits at most for one chunk; the triggers count concurrent writes to
the part already built, and each chunk reads the rest as it then stands (see
migrations/versions/0011_rollups_built_in_chunks.py for why the result is exact).

Each start and chunk gives the account a new data version in its own transaction, so no
cached answer outlives a chunk.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.tenancy import account_transaction

DEFAULT_CHUNK = 1000
"""Sessions per chunk: about a tenth to a third of a second of work (more on a busy
machine), the longest a product write waits for a build."""

_START = text("SELECT public.rollup_build_start(:account_id)")
_STEP = text("SELECT public.rollup_build_step(:account_id, :chunk)")
# SECURITY DEFINER (0003): lists account ids only, whatever the caller's RLS setting.
_ACCOUNTS = text("SELECT id FROM flowpilot_account_ids() AS t(id)")
# SECURITY DEFINER (0011): the accounts whose build has started and not finished.
_BUILDING = text("SELECT id FROM public.rollup_building_account_ids() AS t(id)")


@dataclass(frozen=True)
class Build:
    """One account built: how many chunks, and the longest (what a writer may wait)."""

    account_id: uuid.UUID
    chunks: int
    seconds: float
    longest_chunk_s: float


async def start_build(
    sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID
) -> None:
    """Start (or restart) building the account from nothing; chunks then finish it."""
    async with account_transaction(sessionmaker, account_id) as session:
        await session.execute(_START, {"account_id": account_id})


async def build_chunk(
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: uuid.UUID,
    chunk: int = DEFAULT_CHUNK,
) -> bool:
    """Build the account's next chunk in one transaction; True when it is complete."""
    async with account_transaction(sessionmaker, account_id) as session:
        done = bool(
            (await session.execute(_STEP, {"account_id": account_id, "chunk": chunk})).scalar_one()
        )
    return done


async def finish_build(
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: uuid.UUID,
    chunk: int = DEFAULT_CHUNK,
) -> Build:
    """Run the chunks of a started build until the account is complete."""
    started = time.perf_counter()
    chunks, longest = 0, 0.0
    while True:
        began = time.perf_counter()
        done = await build_chunk(sessionmaker, account_id, chunk)
        chunks += 1
        longest = max(longest, time.perf_counter() - began)
        if done:
            return Build(account_id, chunks, time.perf_counter() - started, longest)


async def rebuild_account(
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: uuid.UUID,
    chunk: int = DEFAULT_CHUNK,
) -> Build:
    """Recompute every rollup row of one account, chunk by chunk."""
    await start_build(sessionmaker, account_id)
    return await finish_build(sessionmaker, account_id, chunk)


async def rebuild_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    chunk: int = DEFAULT_CHUNK,
    on_build: Callable[[Build], None] = lambda build: None,
) -> int:
    """Rebuild every account's rollups, account by account; returns the number rebuilt."""
    async with sessionmaker() as session:
        ids = list((await session.execute(_ACCOUNTS)).scalars())
    for account_id in ids:
        on_build(await rebuild_account(sessionmaker, account_id, chunk))
    return len(ids)


async def finish_started_builds(
    sessionmaker: async_sessionmaker[AsyncSession], chunk: int = DEFAULT_CHUNK
) -> list[Build]:
    """Finish every build that was started (a time-zone change, an interrupted rebuild)."""
    async with sessionmaker() as session:
        ids = list((await session.execute(_BUILDING)).scalars())
    return [await finish_build(sessionmaker, account_id, chunk) for account_id in ids]
