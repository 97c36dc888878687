"""The capacity results as a Markdown table (bench capacity prints it; bench report puts
it on docs/benchmarks.md)."""

from __future__ import annotations

from typing import Any

from bench.day_mix import TABS


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _tabs(step: dict[str, Any]) -> str:
    tabs = step.get("tabs")
    if not tabs:
        return "–"
    return " / ".join(_ms(tabs[tab]["p95_ms"]) for tab in TABS)


def table(results: dict[str, Any]) -> str:
    """One row per side and cache mode: the capacity and the CPU per request there."""
    lines = [
        f"Capacity: the highest offered rate with the day's server p95 ≤ "
        f"{results['bound_ms']:.0f} ms, {results['workers']} workers "
        f"(`{results['command']}`, {results['when']}).",
        "",
        "| checkout | cache | capacity req/s | p95 ms there | overview / coverage / "
        "flow-quality / psa p95 ms there | server CPU ms/req | PostgreSQL CPU ms/req | "
        "steps (asked req/s: p95 ms) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for side, modes in results["sides"].items():
        for mode, found in modes.items():
            at = found["at_capacity"] or {}
            steps = ", ".join(f"{s['asked_rps']:.0f}: {_ms(s['p95_ms'])}" for s in found["steps"])
            capacity = found["capacity_rps"]
            lines.append(
                f"| {side} | {mode} | {'–' if capacity is None else f'{capacity:.0f}'} | "
                f"{_ms(at.get('p95_ms'))} | {_tabs(at)} | {_ms(at.get('cpu_ms_per_request'))} | "
                f"{_ms(at.get('database_cpu_ms_per_request'))} | {steps} |"
            )
    return "\n".join(lines)
