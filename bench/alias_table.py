"""`bench aliases`: each tab's times without and with aliases, their ratio, and the table.

Rounds alternate the two sides, so a burst of the shared machine falls on both alike; the
ratio of the pooled percentiles is the figure, and the ratio of each round's medians
shows whether a difference repeats or was one round's noise. The CPU per request of the
API's process and of PostgreSQL's backends does not depend on the machine's load: it
tells what a wall-clock ratio on a busy machine cannot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.stats import percentile, summary_ms

SIDES = ("without", "with")


def tab_figures(
    rounds: Mapping[str, Sequence[Sequence[float]]],
    cpu: Mapping[str, Sequence[tuple[float, float]]],
) -> dict[str, Any]:
    """From one tab's samples (seconds) per side and round, and the CPU seconds (API,
    PostgreSQL) each round's samples cost: each side's pooled p50 and p95 (ms) and CPU per
    request (ms), the ratios with ÷ without, and each round's ratio of medians."""
    sides: dict[str, dict[str, Any]] = {}
    for side in SIDES:
        requests = sum(len(samples) for samples in rounds[side])
        sides[side] = {
            **summary_ms([t for samples in rounds[side] for t in samples]),
            "api_cpu_ms": sum(api for api, _ in cpu[side]) * 1000 / requests,
            "database_cpu_ms": sum(db for _, db in cpu[side]) * 1000 / requests,
        }
    per_round = [
        percentile(with_samples, 50) / percentile(without_samples, 50)
        for without_samples, with_samples in zip(rounds["without"], rounds["with"], strict=True)
    ]
    return {
        **sides,
        "ratio_p50": sides["with"]["p50"] / sides["without"]["p50"],
        "ratio_p95": sides["with"]["p95"] / sides["without"]["p95"],
        "ratio_cpu": _cpu(sides["with"]) / _cpu(sides["without"]),
        "round_ratios_p50": [round(r, 3) for r in per_round],
    }


def _cpu(side: Mapping[str, Any]) -> float:
    return float(side["api_cpu_ms"] + side["database_cpu_ms"])


def table(result: Mapping[str, Any]) -> list[str]:
    """The markdown table of a run's `tabs` (tab_figures per tab)."""
    lines = [
        "| tab | without p50 | without p95 | with p50 | with p95 | with ÷ without p50 "
        "| with ÷ without p95 | CPU ms/req without (API + PostgreSQL) | with | with ÷ without "
        "CPU | each round's p50 ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for tab, figures in result["tabs"].items():
        rounds = ", ".join(f"{r:.2f}" for r in figures["round_ratios_p50"])
        without, with_ = figures["without"], figures["with"]
        lines.append(
            f"| {tab} | {without['p50']:.1f} | {without['p95']:.1f} "
            f"| {with_['p50']:.1f} | {with_['p95']:.1f} "
            f"| {figures['ratio_p50']:.2f}× | {figures['ratio_p95']:.2f}× "
            f"| {without['api_cpu_ms']:.1f} + {without['database_cpu_ms']:.1f} "
            f"| {with_['api_cpu_ms']:.1f} + {with_['database_cpu_ms']:.1f} "
            f"| {figures['ratio_cpu']:.2f}× | {rounds} |"
        )
    return lines


def _loads(loads: Sequence[Sequence[float]]) -> str:
    ones = [load[0] for load in loads]
    return f"{min(ones):.1f} to {max(ones):.1f}"


def section(result: Mapping[str, Any] | None) -> list[str]:
    """docs/benchmarks.md's section of the latest `bench aliases` run, when there is one."""
    if result is None:
        return []
    checks = result["problems"]
    verdict = (
        "every merged domain's counts were the sums of its keys' and the rest unchanged, "
        "in every round"
        if not checks
        else f"**{len(checks)} check(s) failed**, e.g. `{checks[0]}`"
    )
    pairs = "; ".join(f"{s} → {t}" for s, t in result["aliases"][:6])
    tabs = result["tabs"]
    p50 = max(tabs, key=lambda tab: tabs[tab]["ratio_p50"])
    cpu = max(tabs, key=lambda tab: tabs[tab]["ratio_cpu"])
    return [
        "## Domain aliases at L",
        "",
        f"Each tab's document over HTTP (ms), the largest account ({result['account']}), "
        f"{result['period']}, without aliases and with {len(result['aliases'])} defined "
        f"({pairs}; …), {result['rounds']} alternating rounds of {result['repetitions']} "
        f"requests per tab and side, cache off, one uvicorn worker. Commit "
        f"`{result['commit']}`, {result['at']}; load average (1 min) {_loads(result['loads'])} "
        f"over the run (1, 5, 15 min at the start "
        f"{', '.join(f'{x:.1f}' for x in result['loads'][0])}). "
        f"`{result['command']}`.",
        "",
        *table(result),
        "",
        f"Largest ratio with ÷ without: p50 {tabs[p50]['ratio_p50']:.2f}× ({p50}), CPU per "
        f"request {tabs[cpu]['ratio_cpu']:.2f}× ({cpu}). Answers: {verdict}.",
        "",
        ALIAS_NOTES,
        "",
    ]


ALIAS_NOTES = """How it is measured (bench/aliases.py): the aliases are the account's own
qualified spellings mapped onto their domain ("Intune Issues" read as "Intune"), added with
`addDomainAlias` before each "with" side and removed with `removeDomainAlias` after it; the
sides alternate (without first in even rounds, with first in odd ones); in each, every tab
is asked once to warm up, its answer compared with the first of its side (so a removal is
seen to restore the plain answers), then asked back to back with the CPU of the API's
process and of PostgreSQL's backends read around the batch (/proc, bench/process_cpu.py).
On a shared machine the CPU per request is the steadier figure; the wall-clock ratios
follow the machine's bursts (each round's ratio shows how far)."""
