"""Wait for a pool to have every connection back, by its check-in events (no sleeping)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event
from sqlalchemy.pool import Pool


async def all_checked_in(pool: Pool, timeout_s: float = 30.0) -> int:
    """Wait until `pool` has no connection checked out; return how many still are.

    A connection whose request was cancelled is reset (rolled back) before it goes back,
    which can finish after the response was sent: wait for its check-in event instead of
    reading the count at once. Returns the count seen at the deadline when it never drops.
    """
    returned = asyncio.Event()

    def on_checkin(*_: Any) -> None:
        returned.set()

    event.listen(pool, "checkin", on_checkin)
    try:
        async with asyncio.timeout(timeout_s):
            while pool.checkedout():  # type: ignore[attr-defined]
                returned.clear()
                await returned.wait()
    except TimeoutError:
        pass
    finally:
        event.remove(pool, "checkin", on_checkin)
    count: int = pool.checkedout()  # type: ignore[attr-defined]
    return count
