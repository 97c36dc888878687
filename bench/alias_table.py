"""`bench aliases`: each tab's times without and with aliases, their ratio, and the table.

Rounds alternate the two sides, so a burst of the shared machine falls on both alike; the
ratio of the pooled percentiles is the figure, and the ratio of each round's medians
shows whether a difference repeats or was one round's noise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.stats import percentile, summary_ms

SIDES = ("without", "with")


def tab_figures(rounds: Mapping[str, Sequence[Sequence[float]]]) -> dict[str, Any]:
    """From one tab's samples (seconds) per side and round: each side's pooled p50 and
    p95 (ms), their ratios with ÷ without, and each round's ratio of medians."""
    sides = {side: summary_ms([t for samples in rounds[side] for t in samples]) for side in SIDES}
    per_round = [
        percentile(with_samples, 50) / percentile(without_samples, 50)
        for without_samples, with_samples in zip(rounds["without"], rounds["with"], strict=True)
    ]
    return {
        **sides,
        "ratio_p50": sides["with"]["p50"] / sides["without"]["p50"],
        "ratio_p95": sides["with"]["p95"] / sides["without"]["p95"],
        "round_ratios_p50": [round(r, 3) for r in per_round],
    }


def table(result: Mapping[str, Any]) -> list[str]:
    """The markdown table of a run's `tabs` (tab_figures per tab)."""
    lines = [
        "| tab | without p50 | without p95 | with p50 | with p95 | with ÷ without p50 "
        "| with ÷ without p95 | each round's p50 ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for tab, figures in result["tabs"].items():
        rounds = ", ".join(f"{r:.2f}" for r in figures["round_ratios_p50"])
        lines.append(
            f"| {tab} | {figures['without']['p50']:.1f} | {figures['without']['p95']:.1f} "
            f"| {figures['with']['p50']:.1f} | {figures['with']['p95']:.1f} "
            f"| {figures['ratio_p50']:.2f}× | {figures['ratio_p95']:.2f}× | {rounds} |"
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
        f"Answers: {verdict}.",
        "",
        ALIAS_NOTES,
        "",
    ]


ALIAS_NOTES = """How it is measured (bench/aliases.py): the aliases are the account's own
qualified spellings mapped onto their domain ("Intune Issues" read as "Intune"), added with
`addDomainAlias` before each "with" side and removed with `removeDomainAlias` after it; the
sides alternate (without first in even rounds, with first in odd ones), each tab asked once
to warm up and then in turn with the others. The warm-up answers are compared with the
first of their side, so a removal is seen to restore the plain answers."""
