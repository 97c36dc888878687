"""The base of every loader: each batch is one statement in the request's snapshot."""

from __future__ import annotations

from abc import abstractmethod
from asyncio import Future
from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

from aiodataloader import DataLoader, Loader, dispatch_queue
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.analytics.window import Window
from persistence.snapshot import ReadSnapshot

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T", bound=Hashable)

# Loop iterations a batch waits for more keys before it is sent. aiodataloader sends
# after about one; a resolver that answers synchronously for some rows and lazily for
# others starts its loads a tick or two apart, which would split one batch into two and
# make the statement count of a query depend on timing.
DISPATCH_AFTER_TICKS = 4


class AccountLoader(DataLoader[K, V], Generic[K, V]):
    """Batches keys of one request into one statement, read in the request's snapshot.

    All loaders of a request share its snapshot, so their batches take turns on one
    connection and every value comes from the same state of the database.
    """

    def __init__(self, snapshot: ReadSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.account_id = snapshot.account_id

    def do_resolve_reject(self, key: K, future: Future[V]) -> None:
        """Queue the key; the first key of a batch schedules its dispatch a few ticks on."""
        self._queue.append(Loader(key=key, future=future))
        if len(self._queue) == 1:
            self._dispatch_in(DISPATCH_AFTER_TICKS)

    def _dispatch_in(self, ticks: int) -> None:
        if ticks > 0:
            self.loop.call_soon(self._dispatch_in, ticks - 1)
        else:
            dispatch_queue(self)

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
