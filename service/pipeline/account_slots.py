"""At most a few requests of one account are worked on at once in a worker process.

A worker's event loop serves every runnable request in turn, so an account holding 80
connections open would get 80 turns for every one of another account's requests, even
if each of its requests is refused cheaply. Its requests beyond the limit wait here,
parked (not runnable, no CPU) until one of its own finishes: every account's share of
the loop is bounded by the limit, however many connections it opens.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


class SlotsBusy(Exception):
    """The account's slots stayed taken for the whole wait."""


@dataclass
class _Slots:
    semaphore: asyncio.Semaphore
    users: int = field(default=0)


class AccountSlots:
    """Per-account semaphores, created on first use and dropped when no request holds or
    waits for one (so idle accounts cost no memory)."""

    def __init__(self, limit: int) -> None:
        if limit <= 0:
            raise ValueError("the per-account limit must be positive")
        self.limit = limit
        self._slots: dict[str, _Slots] = {}

    def in_use(self, account: str) -> int:
        """Requests of `account` holding or waiting for a slot now."""
        slots = self._slots.get(account)
        return 0 if slots is None else slots.users

    @asynccontextmanager
    async def hold(self, account: str, wait_s: float | None) -> AsyncIterator[None]:
        """Wait up to `wait_s` (None: as long as it takes) for one of the account's slots
        (else SlotsBusy), and keep it for the block."""
        slots = self._slots.get(account)
        if slots is None:
            slots = self._slots[account] = _Slots(asyncio.Semaphore(self.limit))
        slots.users += 1
        try:
            try:
                async with asyncio.timeout(wait_s):
                    await slots.semaphore.acquire()
            except TimeoutError:
                raise SlotsBusy(account) from None
            try:
                yield
            finally:
                slots.semaphore.release()
        finally:
            slots.users -= 1
            if slots.users == 0:
                del self._slots[account]
