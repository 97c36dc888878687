"""The capacity search: step the offered rate up until the p95 crosses the bound, then
bisect; the answer is the highest rate measured within it."""

from __future__ import annotations

import math
from typing import Any

from bench.capacity import search, within
from bench.capacity_table import table
from bench.targets import capacity_rows


def _server(rate: float, *, errors_from: float = math.inf) -> dict[str, Any]:
    """A server whose p95 is a quarter of the offered rate (ms): the bound of 50 ms is
    crossed at exactly 200 req/s; from `errors_from` on, requests fail."""
    return {"offered_rps": rate, "p95_ms": rate / 4, "errors": int(rate >= errors_from)}


async def test_steps_up_by_the_growth_then_bisects_below_the_crossing() -> None:
    async def measure(rate: float) -> dict[str, Any]:
        return _server(rate)

    held, steps = await search(
        measure, bound_ms=50, start_rps=100, growth=1.25, bisections=2, max_rps=1000
    )
    asked = [round(step["offered_rps"], 2) for step in steps]
    # 100, 125, 156.25, 195.31 hold (25, 31.25, 39.06, 48.83 ms); 244.14 is beyond (61.04);
    # then sqrt(195.31 × 244.14) = 218.37 (54.59 ms, beyond) and
    # sqrt(195.31 × 218.37) = 206.52 (51.63 ms, beyond): 195.31 stays the answer.
    assert asked == [100.0, 125.0, 156.25, 195.31, 244.14, 218.37, 206.52]
    assert held == 195.3125


async def test_a_bisection_that_holds_raises_the_answer() -> None:
    async def measure(rate: float) -> dict[str, Any]:
        return _server(rate)

    held, steps = await search(
        measure, bound_ms=50, start_rps=160, growth=1.5, bisections=1, max_rps=1000
    )
    # 160 holds (40 ms), 240 is beyond (60 ms); sqrt(160 × 240) = 195.96 holds (48.99 ms).
    assert [round(s["offered_rps"], 2) for s in steps] == [160.0, 240.0, 195.96]
    assert held is not None and round(held, 2) == 195.96


async def test_errors_count_as_beyond_and_a_first_step_beyond_gives_none() -> None:
    async def failing(rate: float) -> dict[str, Any]:
        return _server(rate, errors_from=120)

    held, steps = await search(
        failing, bound_ms=50, start_rps=100, growth=1.25, bisections=0, max_rps=1000
    )
    assert (held, len(steps)) == (100, 2)  # 125 req/s had errors though its p95 was 31 ms

    async def slow(rate: float) -> dict[str, Any]:
        return _server(rate * 10)

    held, steps = await search(
        slow, bound_ms=50, start_rps=100, growth=1.25, bisections=2, max_rps=1000
    )
    assert held is None and len(steps) == 1


async def test_the_search_stops_at_the_highest_rate_it_may_ask() -> None:
    async def measure(rate: float) -> dict[str, Any]:
        return _server(rate)

    held, steps = await search(
        measure, bound_ms=50, start_rps=100, growth=1.5, bisections=2, max_rps=160
    )
    assert (held, len(steps)) == (150, 2)  # 100 and 150 held; 225 is past the limit


def test_a_step_without_a_p95_does_not_hold() -> None:
    assert not within({"p95_ms": None, "errors": 0}, 50)
    assert within({"p95_ms": 50.0, "errors": 0}, 50)
    assert not within({"p95_ms": 50.01, "errors": 0}, 50)


def test_the_table_gives_each_side_and_mode_its_capacity_and_steps() -> None:
    p95s = (("overview", 11.0), ("coverage", 22.0), ("flow-quality", 33.0), ("psa", 4.0))
    tabs = {tab: {"n": 1, "p50_ms": 1.0, "p95_ms": p95} for tab, p95 in p95s}
    held = {
        "asked_rps": 100.0,
        "offered_rps": 98.6,
        "p95_ms": 40.0,
        "errors": 0,
        "tabs": tabs,
        "cpu_ms_per_request": 4.25,
        "database_cpu_ms_per_request": 2.5,
    }
    beyond = {**held, "asked_rps": 125.0, "offered_rps": 120.0, "p95_ms": 75.5}
    results = {
        "command": "python -m bench capacity",
        "when": "2026-12-06T13:00:00+00:00",
        "workers": 2,
        "bound_ms": 50.0,
        "sides": {
            "baseline": {"off": {"capacity_rps": None, "at_capacity": None, "steps": [beyond]}},
            "current": {
                "off": {"capacity_rps": 98.6, "at_capacity": held, "steps": [held, beyond]}
            },
        },
    }
    lines = table(results).splitlines()
    assert lines[-2] == "| baseline | off | – | – | – | – | – | 125: 75.5 |"
    assert lines[-1] == (
        "| current | off | 99 | 40.0 | 11.0 / 22.0 / 33.0 / 4.0 | 4.2 | 2.5 | "
        "100: 40.0, 125: 75.5 |"
    )


def test_the_targets_name_the_capacity_per_cache_mode_beside_the_baseline() -> None:
    capacity = {
        "workers": 2,
        "bound_ms": 50.0,
        "sides": {
            "baseline": {"off": {"capacity_rps": 160.4}, "memory": {"capacity_rps": None}},
            "current": {"off": {"capacity_rps": 251.0}, "memory": {"capacity_rps": None}},
        },
    }
    assert capacity_rows(capacity) == [
        "| L day, cache off, 2 workers: offered rate at p95 ≤ 50 ms ≥ 250 req/s | "
        "251 req/s (baseline 160) | met |",
        "| L day, cache memory, 2 workers: offered rate at p95 ≤ 50 ms ≥ 250 req/s | "
        "below the first step | **missed** |",
    ]
    assert capacity_rows(None) == []
