"""`python -m bench capacity`: the offered rate at which the day's p95 crosses a bound.

The day's people (bench/day_mix.py, every account at least one team lead) are driven by
wrk, which costs the shared cores little; their think time sets the offered rate
(people ÷ think). For each checkout (a baseline and this one) and each cache mode, one
server with `workers` workers takes steps of rising rate; each step is a short day (a
warm-up, then the measured window, the writers beside it) and its p95 is the server's,
from the request log. The capacity is the highest rate measured whose p95 stays within
the bound, found by stepping up by `growth` until a step crosses it, then bisecting
between the last step within and the first beyond. Sides alternate per mode, in one
run, so a busy machine slows both alike. Each step also gives the CPU per request of
the server and of PostgreSQL's backends.

    python -m bench capacity --database-url <L database> --baseline <checkout>
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.capacity_table import table
from bench.day import DayServer, Load, Tenant, day, tenants
from bench.day_mix import people


@dataclass
class CapacityOptions:
    database_url: str
    command: str
    baseline: Path | None = None
    modes: tuple[str, ...] = ("off", "memory")
    workers: int = 2
    viewers: int = 500
    bound_ms: float = 50.0
    start_rps: float = 100.0
    growth: float = 1.25
    bisections: int = 2
    max_rps: float = 1000.0
    seconds: float = 20.0
    warmup_s: float = 5.0
    writes_per_s: float = 10.0
    seed: int = 1
    redis_url: str = "redis://127.0.0.1:6379/0"
    output: Path | None = None


def within(step: dict[str, Any], bound_ms: float) -> bool:
    """A step holds when its server p95 is within the bound and nothing failed."""
    p95 = step.get("p95_ms")
    return p95 is not None and p95 <= bound_ms and step["errors"] == 0


async def search(
    measure: Callable[[float], Awaitable[dict[str, Any]]],
    *,
    bound_ms: float,
    start_rps: float,
    growth: float,
    bisections: int,
    max_rps: float,
) -> tuple[float | None, list[dict[str, Any]]]:
    """The highest offered rate measured within the bound (None when even the first step
    is beyond it), and every step in the order measured. `measure(rate)` runs one step
    asked for `rate` and returns its figures (`offered_rps`, `p95_ms`, `errors`)."""
    steps: list[dict[str, Any]] = []
    held: float | None = None
    low: float | None = None  # the highest rate asked whose step held
    beyond: float | None = None
    rate = start_rps
    while rate <= max_rps:
        step = await measure(rate)
        steps.append(step)
        if not within(step, bound_ms):
            beyond = rate
            break
        held, low = step["offered_rps"], rate
        rate *= growth
    if low is None or beyond is None or held is None:
        return held, steps
    for _ in range(bisections):
        rate = math.sqrt(low * beyond)
        step = await measure(rate)
        steps.append(step)
        if within(step, bound_ms):
            low, held = rate, max(held, step["offered_rps"])
        else:
            beyond = rate
    return held, steps


async def _side(
    options: CapacityOptions,
    checkout: Path,
    mode: str,
    tenants_: list[Tenant],
    log: Callable[[str], None],
) -> dict[str, Any]:
    persons = len(
        people([(t.id, t.sessions) for t in tenants_], options.viewers, 0.25, options.seed)
    )
    server = DayServer(options.database_url, mode, options.workers, options.redis_url, checkout)

    async def measure(rate: float) -> dict[str, Any]:
        step = await _step(options, server, tenants_, persons, rate)
        log(_step_line(checkout, mode, step))
        return step

    try:
        await server.ready()
        held, steps = await search(
            measure,
            bound_ms=options.bound_ms,
            start_rps=options.start_rps,
            growth=options.growth,
            bisections=options.bisections,
            max_rps=options.max_rps,
        )
    finally:
        server.stop()
    best = [s for s in steps if within(s, options.bound_ms) and s["offered_rps"] == held]
    return {
        "capacity_rps": held,
        "people": persons,
        "at_capacity": best[0] if best else None,
        "steps": steps,
    }


async def _step(
    options: CapacityOptions, server: DayServer, tenants_: list[Tenant], persons: int, rate: float
) -> dict[str, Any]:
    load = Load(
        viewers=options.viewers,
        seconds=options.seconds,
        warmup_s=options.warmup_s,
        think_s=persons / rate,
        writes_per_s=options.writes_per_s,
        seed=options.seed,
        generator="wrk",
    )
    figures = await day(options.database_url, server, tenants_, load)
    figures["asked_rps"] = rate
    return figures


def _step_line(checkout: Path, mode: str, step: dict[str, Any]) -> str:
    return (
        f"{checkout.name:>12} cache {mode:6} asked {step['asked_rps']:6.0f} req/s: offered "
        f"{step['offered_rps']:6.1f}, p95 {step['p95_ms'] or float('nan'):7.1f} ms, "
        f"errors {step['errors']}, server CPU {step['cpu_ms_per_request']:.2f} ms/req, "
        f"PostgreSQL CPU {step['database_cpu_ms_per_request']:.2f} ms/req"
    )


async def run_capacity(
    options: CapacityOptions, log: Callable[[str], None] = print
) -> dict[str, Any]:
    tenants_ = await tenants(options.database_url)
    sides = {"current": report.ROOT}
    if options.baseline is not None:
        sides = {"baseline": options.baseline, **sides}
    results: dict[str, Any] = {
        "command": options.command,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": report.commit(),
        "accounts": len(tenants_),
        "workers": options.workers,
        "bound_ms": options.bound_ms,
        "sides": {side: {} for side in sides},
    }
    for mode in options.modes:
        for side, checkout in sides.items():
            results["sides"][side][mode] = await _side(options, checkout, mode, tenants_, log)
    output = options.output or report.RESULTS_DIR / "capacity.json"
    output.write_text(json.dumps(results, indent=2) + "\n")
    log(table(results))
    return results
