"""The load generator's own event-loop lag: a blocked loop shows up as a late wake-up."""

from __future__ import annotations

import asyncio
import time

from bench.loop_lag import LoopLag


async def test_a_blocked_loop_is_measured_as_lag_inside_the_window_only() -> None:
    lag = LoopLag(interval_s=0.01)
    lag.start()
    await asyncio.sleep(0.05)
    window_start = time.perf_counter()
    time.sleep(0.2)  # noqa: ASYNC251 - the point: the loop cannot run its sleeper for 200 ms
    await asyncio.sleep(0.05)
    window_end = time.perf_counter()
    await lag.stop()
    inside = lag.summary(window_start, window_end)
    # The sleeper asked for 10 ms and woke at least 190 ms later (a lower bound only:
    # a slower machine wakes it later still).
    assert inside["max_ms"] is not None and inside["max_ms"] >= 190
    assert inside["n"] >= 1
    assert lag.summary(window_end + 10, window_end + 20) == {
        "n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None
    }  # fmt: skip
