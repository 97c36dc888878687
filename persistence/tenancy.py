"""Transactions scoped to one account, so row-level security binds every statement."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.reader import Reader

_SET_ACCOUNT = text("SELECT set_config('app.current_account_id', :account_id, true)")
# The same binding (for the rest of the transaction) and the account's time zone read
# under it, in one round trip: PL/pgSQL runs the binding before it plans the look-up, as
# one plain statement that both binds and reads an isolated table could not (PostgreSQL
# would plan the table's policy with the connection's previous setting). The function is
# the data state look-up of migration 0008; no row when the account does not exist.
_SET_ACCOUNT_READ_STATE = "SELECT version, epoch, timezone FROM flowpilot_data_state(:account_id)"


@dataclass(frozen=True)
class AccountState:
    """What the binding statement reads under the binding: the account's data version,
    the database's version epoch and the account's time zone."""

    version: int
    epoch: str
    timezone: str


async def bind_account(session: AsyncSession, account_id: uuid.UUID) -> None:
    """Set the RLS account for the current transaction only (`is_local = true`)."""
    await session.execute(_SET_ACCOUNT, {"account_id": str(account_id)})


async def bind_account_read_state(reader: Reader, account_id: uuid.UUID) -> AccountState | None:
    """`bind_account`, and the account's state read in the same statement (None when the
    account does not exist): one round trip for what every analytics request needs first
    (the time zone) and what a cached answer is tagged with (the version)."""
    row = await reader.row(_SET_ACCOUNT_READ_STATE, {"account_id": account_id})
    if row is None:
        return None
    return AccountState(int(row["version"]), str(row["epoch"]), row["timezone"])


@asynccontextmanager
async def account_transaction(
    sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID
) -> AsyncIterator[AsyncSession]:
    """A short-lived session in one transaction bound to `account_id`; commits on success."""
    async with sessionmaker() as session, session.begin():
        await bind_account(session, account_id)
        yield session
