"""The base of every loader: each batch is one statement in the request's snapshot."""

from __future__ import annotations

from abc import abstractmethod
from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics.window import Window
from persistence.snapshot import ReadSnapshot

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T", bound=Hashable)


class AccountLoader(DataLoader[K, V], Generic[K, V]):
    """Batches keys of one request into one statement, read in the request's snapshot.

    All loaders of a request share its snapshot, so their batches take turns on one
    connection and every value comes from the same state of the database.
    """

    def __init__(self, snapshot: ReadSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.account_id = snapshot.account_id

    async def batch_load_fn(self, keys: list[K]) -> list[V]:
        return await self.snapshot.read(lambda session: self.fetch(session, keys))

    @abstractmethod
    async def fetch(self, session: AsyncSession, keys: Sequence[K]) -> list[V]:
        """Values for `keys`, in key order."""


def group_by_window(keys: Sequence[tuple[Window, T]]) -> dict[Window, list[T]]:
    """Split (window, key) pairs by window, so each window costs one statement."""
    grouped: dict[Window, list[T]] = defaultdict(list)
    for window, key in keys:
        grouped[window].append(key)
    return grouped
