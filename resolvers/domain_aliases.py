"""Domain aliases read in the request's snapshot (so they agree with the tabs beside them),
and their changes, each in a short transaction of its own bound to the caller's account."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.metrics.alias_matching import AliasSuggestion
from core.metrics.window import Window
from persistence.analytics.alias_suggestions import alias_suggestions
from persistence.domain_aliases import AliasRow, list_aliases
from persistence.reader import Reader
from persistence.snapshot import ReadSnapshot
from persistence.tenancy import account_transaction

T = TypeVar("T")


async def read_aliases(snapshot: ReadSnapshot) -> list[AliasRow]:
    return await snapshot.read(lambda reader: list_aliases(reader, snapshot.account_id))


async def read_suggestions(snapshot: ReadSnapshot, window: Window) -> list[AliasSuggestion]:
    return await snapshot.read(
        lambda reader: alias_suggestions(reader, snapshot.account_id, window)
    )


async def change_aliases(
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: uuid.UUID,
    change: Callable[[Reader], Awaitable[T]],
) -> tuple[T, list[AliasRow]]:
    """Run `change` and read the aliases after it, in one transaction bound to the account
    (a refused change rolls it back whole)."""
    async with account_transaction(sessionmaker, account_id) as session:
        reader = await Reader.in_session(session)
        outcome = await change(reader)
        return outcome, await list_aliases(reader, account_id)
