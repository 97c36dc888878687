"""The base of every loader: each batch is one statement in the request's snapshot."""

from __future__ import annotations

from abc import abstractmethod
from asyncio import Future
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from typing import Generic, TypeVar

from aiodataloader import DataLoader

from core.metrics.window import Window
from persistence.reader import Reader
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
        return await self.snapshot.read(lambda reader: self.fetch(reader, keys))

    def load_many(self, keys: Iterable[K]) -> Future[list[V]]:
        """The values of `keys`, as DataLoader's, without a callback per key: a list of a
        hundred domains or flows would otherwise schedule a hundred of them. Values already
        at hand (cached, or primed by another statement) are returned at once; else the
        keys' futures, which their batch resolves together, are awaited in order."""
        futures = [self.load(key) for key in keys]
        if all(future.done() and not future.cancelled() for future in futures):
            collected: Future[list[V]] = self.loop.create_future()
            # Every exception is looked at, as gather does (none is logged as unretrieved).
            failures = [future.exception() for future in futures]
            failed = next((error for error in failures if error is not None), None)
            if failed is not None:
                collected.set_exception(failed)
            else:
                collected.set_result([future.result() for future in futures])
            return collected
        return self.loop.create_task(_in_order(futures))

    @abstractmethod
    async def fetch(self, reader: Reader, keys: Sequence[K]) -> list[V]:
        """Values for `keys`, in key order."""


async def _in_order(futures: list[Future[V]]) -> list[V]:
    try:
        return [await future for future in futures]
    finally:
        for future in futures:  # a failed batch fails them all: each error is looked at
            if future.done() and not future.cancelled():
                future.exception()


def group_by_window(keys: Sequence[tuple[Window, T]]) -> dict[Window, list[T]]:
    """Split (window, key) pairs by window, so each window costs one statement."""
    grouped: dict[Window, list[T]] = defaultdict(list)
    for window, key in keys:
        grouped[window].append(key)
    return grouped
