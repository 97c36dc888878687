"""Rebuilding the analytics rollups from the raw tables.

Triggers keep the rollups exact on every write; a rebuild is for bulk loads that ran
with triggers disabled, for repairs, and (through a trigger) for a changed time zone.
Each account is rebuilt in its own transaction, bound to it, so row-level security
applies and one account's rebuild never holds another's locks.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.tenancy import account_transaction

_REBUILD = text("SELECT rollups_rebuild_account(:account_id)")
# SECURITY DEFINER (0003): lists account ids only, whatever the caller's RLS setting.
_ACCOUNTS = text("SELECT id FROM flowpilot_account_ids() AS t(id)")


async def rebuild_account(
    sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID
) -> None:
    """Delete and recompute every rollup row of one account, in one transaction."""
    async with account_transaction(sessionmaker, account_id) as session:
        await session.execute(_REBUILD, {"account_id": account_id})


async def rebuild_all(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Rebuild every account's rollups, account by account; returns the number rebuilt."""
    async with sessionmaker() as session:
        ids = list((await session.execute(_ACCOUNTS)).scalars())
    for account_id in ids:
        await rebuild_account(sessionmaker, account_id)
    return len(ids)
