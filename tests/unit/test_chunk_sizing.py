"""Chunks sized by time: the next chunk from the last chunks' measured rate, shrinking at
once after one that overshot and growing gently, within bounds. No test reads a clock: the
seconds are given, or come from a clock that the chunk itself moves."""

from __future__ import annotations

import pytest

from core.settings import SettingsError, checked_setting
from persistence.chunk_sizing import (
    DEFAULT_TARGET_MS,
    MAX_CHUNK,
    MIN_CHUNK,
    START_CHUNK,
    ChunkSizing,
)
from persistence.rollups import Pacing, run_chunks

TARGET = ChunkSizing(target_s=0.2, start=100, minimum=10, maximum=10_000)


def test_chunks_under_the_target_grow_by_half_at_most() -> None:
    sizer = TARGET.sizer()
    assert sizer.size == 100
    # 100 sessions in 0.02 s: 5,000 a second would fit 1,000 in 0.2 s; grows to 150 only.
    assert sizer.record(0.02) == 150
    assert sizer.record(0.03) == 225  # 150 in 0.03 s: the same rate
    assert sizer.record(0.045) == 337  # floor(225 x 1.5)


def test_growth_stops_at_what_the_slowest_recent_rate_fits_in_the_target() -> None:
    sizer = TARGET.sizer()
    # 100 in 0.1 s (1,000/s): 200 would fit in 0.2 s, but 150 is the most it may grow.
    assert sizer.record(0.1) == 150
    # 150 in 0.1 s (1,500/s): 225 allowed by growth, 1,000/s x 0.2 s = 200 by the rate.
    assert sizer.record(0.1) == 200
    # 200 in 0.1 s (2,000/s): the slowest of the last three is still 1,000/s.
    assert sizer.record(0.1) == 200
    # Another 2,000/s: 1,000/s has left the window (three kept), 1,500/s x 0.2 s = 300.
    assert sizer.record(0.1) == 300


def test_a_chunk_over_the_target_shrinks_the_next_at_once() -> None:
    sizer = ChunkSizing(target_s=0.2, start=1000).sizer()
    # 1,000 sessions took 2.0 s (the largest account on a loaded machine): 500/s, so
    # 100 fit in 0.2 s.
    assert sizer.record(2.0) == 100
    # Just over the target shrinks in proportion: 100 in 0.25 s is 400/s -> 80.
    assert sizer.record(0.25) == 80
    # Under the target again (800/s), but 400/s is among the last three: no growth.
    assert sizer.record(0.1) == 80
    assert sizer.record(0.1) == 80  # rates 400, 800, 800
    assert sizer.record(0.1) == 120  # rates 800 x 3: 160 fit, 80 x 1.5 allowed


def test_sizes_stay_within_the_bounds() -> None:
    sizer = ChunkSizing(target_s=0.2, start=20, minimum=10, maximum=25).sizer()
    assert sizer.record(0.001) == 25  # 20,000/s: 30 by growth, the maximum 25
    assert sizer.record(60.0) == 10  # a minute for 25 sessions: at least the minimum
    assert sizer.record(0.0) == 10  # no measurable time: the slow chunk is still there
    # A start outside the bounds is brought inside them.
    assert ChunkSizing(target_s=0.2, start=5, minimum=10).sizer().size == 10
    assert ChunkSizing(target_s=0.2, start=50_000).sizer().size == MAX_CHUNK


def test_a_fixed_size_ignores_the_time_chunks_take() -> None:
    sizer = ChunkSizing.fixed(1000).sizer()
    assert [sizer.record(seconds) for seconds in (5.0, 0.001, 0.2)] == [1000, 1000, 1000]
    assert ChunkSizing.of(7) == ChunkSizing.fixed(7)
    assert ChunkSizing.of(TARGET) is TARGET
    assert ChunkSizing.fixed(7).describe() == "chunks of 7 sessions (--chunk)"
    assert ChunkSizing.targeting(250).describe() == (
        "chunks sized to take about 250 ms (ROLLUP_BUILD_CHUNK_TARGET_MS)"
    )


def test_the_defaults_and_what_a_sizing_refuses() -> None:
    default = ChunkSizing()
    assert default.target_s == DEFAULT_TARGET_MS / 1000 == 0.2
    assert (default.start, default.minimum, default.maximum) == (START_CHUNK, MIN_CHUNK, MAX_CHUNK)
    with pytest.raises(ValueError, match="above 0 s"):
        ChunkSizing(target_s=0.0)
    with pytest.raises(ValueError, match="chunk bounds"):
        ChunkSizing(minimum=100, maximum=10)
    with pytest.raises(ValueError, match="at least 1 session"):
        ChunkSizing(start=0)


def test_the_target_setting_and_its_bounds() -> None:
    assert checked_setting("rollup_build_chunk_target_ms", {}) == DEFAULT_TARGET_MS
    given = {"ROLLUP_BUILD_CHUNK_TARGET_MS": "50"}
    assert checked_setting("rollup_build_chunk_target_ms", given) == 50.0
    for bad in ("0", "-5", "60001"):
        with pytest.raises(SettingsError, match="ROLLUP_BUILD_CHUNK_TARGET_MS must be"):
            checked_setting("rollup_build_chunk_target_ms", {"ROLLUP_BUILD_CHUNK_TARGET_MS": bad})


class Account:
    """A build's steps against a clock they move: each session costs `cost_s` (changed
    by `slow_from`, the chunk from which every session costs `slow_cost_s`)."""

    def __init__(self, sessions: int, cost_s: float, slow_from: int, slow_cost_s: float):
        self.left = sessions
        self.cost_s, self.slow_from, self.slow_cost_s = cost_s, slow_from, slow_cost_s
        self.now = 0.0
        self.sizes: list[int] = []

    def clock(self) -> float:
        return self.now

    async def step(self, size: int) -> bool:
        cost = self.slow_cost_s if len(self.sizes) >= self.slow_from else self.cost_s
        self.sizes.append(size)
        taken = min(size, self.left)
        self.now += taken * cost
        self.left -= taken
        # As rollup_build_step: done when a chunk found fewer sessions than it may take.
        return taken < size


async def test_a_build_follows_the_account_it_meets_chunk_by_chunk() -> None:
    """1 ms a session, then (from the sixth chunk on) 10 ms: chunks grow from 100 to 200
    (what fits in 0.2 s), shrink at once to 20 when the slow part starts, and stay there."""
    account = Account(1500, cost_s=0.001, slow_from=5, slow_cost_s=0.010)
    rests: list[float] = []

    class Recorded(Pacing):
        async def rest(self, worked_s: float) -> None:
            rests.append(worked_s)

    chunks = await run_chunks(account.step, TARGET, Recorded(0.5), account.clock)
    # 100, 150, 200 (the rate's 1,000/s x 0.2 s), 200, 200: 850 sessions in 0.85 s. The
    # sixth, 200 sessions, takes 2 s (100/s): the next take 20, 0.2 s each. 450 were left
    # after the sixth: 22 chunks of 20 and a last one finding 10, fewer than it may take.
    assert account.sizes == [100, 150, 200, 200, 200, 200] + [20] * 23
    assert (chunks.count, chunks.smallest, chunks.largest) == (29, 20, 200)
    assert chunks.longest_s == pytest.approx(2.0) and chunks.last_s == pytest.approx(0.1)
    assert chunks.working_s == pytest.approx(0.85 + 2.0 + 4.5)
    # A rest after every chunk but the last, as long as the chunk took (duty cycle 0.5).
    assert len(rests) == 28 and rests[5] == pytest.approx(2.0)
    assert chunks.sizes() == "of 20 to 200 sessions"


async def test_a_fixed_size_builds_as_before() -> None:
    account = Account(45, cost_s=0.5, slow_from=0, slow_cost_s=0.5)
    chunks = await run_chunks(account.step, 5, clock=account.clock)
    # 45 sessions in chunks of 5 and one that finds none left, however slow each is.
    assert account.sizes == [5] * 10
    assert (chunks.count, chunks.smallest, chunks.largest) == (10, 5, 5)
    assert chunks.longest_s == pytest.approx(2.5) and chunks.sizes() == "of 5 sessions"
