"""How late the load generator's own event loop runs: a client whose loop is busy stamps
requests as sent while they wait, so its latencies say more about itself than the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from bench.stats import percentile


class LoopLag:
    """Sleeps `interval_s` in a loop and records how much later than asked it woke."""

    def __init__(self, interval_s: float = 0.01) -> None:
        self.interval_s = interval_s
        self.samples: list[tuple[float, float]] = []  # (woke at, lag seconds)
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(self.interval_s)
            woke = time.perf_counter()
            self.samples.append((woke, max(0.0, woke - asked - self.interval_s)))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def summary(self, start: float, end: float) -> dict[str, Any]:
        """Lag percentiles (ms) of the wake-ups between `start` and `end` (perf_counter)."""
        lags = [lag for woke, lag in self.samples if start <= woke <= end]
        if not lags:
            return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
        return {
            "n": len(lags),
            "p50_ms": percentile(lags, 50) * 1000,
            "p99_ms": percentile(lags, 99) * 1000,
            "max_ms": max(lags) * 1000,
        }
