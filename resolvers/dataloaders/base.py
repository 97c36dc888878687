"""The base of every loader: one short-lived, account-bound session per batch."""

from __future__ import annotations

import uuid
from abc import abstractmethod
from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.analytics.window import Window
from persistence.tenancy import account_transaction

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T", bound=Hashable)


class AccountLoader(DataLoader[K, V], Generic[K, V]):
    """Batches keys of one request into one statement, in a transaction of its own.

    Batches may run concurrently, so they never share a session or a connection.
    """

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID
    ) -> None:
        super().__init__()
        self.sessionmaker = sessionmaker
        self.account_id = account_id

    async def batch_load_fn(self, keys: list[K]) -> list[V]:
        async with account_transaction(self.sessionmaker, self.account_id) as session:
            return await self.fetch(session, keys)

    @abstractmethod
    async def fetch(self, session: AsyncSession, keys: Sequence[K]) -> list[V]:
        """Values for `keys`, in key order."""


def group_by_window(keys: Sequence[tuple[Window, T]]) -> dict[Window, list[T]]:
    """Split (window, key) pairs by window, so each window costs one statement."""
    grouped: dict[Window, list[T]] = defaultdict(list)
    for window, key in keys:
        grouped[window].append(key)
    return grouped
