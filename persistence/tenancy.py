"""Transactions scoped to one account, so row-level security binds every statement."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

_SET_ACCOUNT = text("SELECT set_config('app.current_account_id', :account_id, true)")


async def bind_account(session: AsyncSession, account_id: uuid.UUID) -> None:
    """Set the RLS account for the current transaction only (`is_local = true`)."""
    await session.execute(_SET_ACCOUNT, {"account_id": str(account_id)})


@asynccontextmanager
async def account_transaction(
    sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID
) -> AsyncIterator[AsyncSession]:
    """A short-lived session in one transaction bound to `account_id`; commits on success."""
    async with sessionmaker() as session, session.begin():
        await bind_account(session, account_id)
        yield session
