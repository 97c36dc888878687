"""Two versions of the API side by side: CPU per in-process request, in alternating rounds.

A loaded machine slows both versions alike when their runs alternate, so the ratio of
their medians is the figure to trust, not either absolute time.

    python -m bench versus --baseline <checkout> --database-url <bench database>

`--http` measures the whole app instead (bench/http_probe.py): a cache hit and a miss of
the Overview and Coverage tabs, each request passing every step from the body to the
response's bytes.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

PROBE = Path(__file__).resolve().parent / "cpu_probe.py"
# --http: the whole app called as ASGI, a cache hit and a miss per tab (bench/http_probe.py).
HTTP_PROBE = Path(__file__).resolve().parent / "http_probe.py"
HERE = Path(__file__).resolve().parents[1]


def _probe(
    checkout: Path, url: str, repetitions: int, period: str, probe: Path = PROBE
) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    output = subprocess.run(
        [sys.executable, str(probe), url, str(repetitions), period],
        cwd=checkout,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def compare(
    baseline: Path, url: str, *, rounds: int, repetitions: int, period: str, http: bool = False
) -> list[tuple[str, float, float]]:
    """(case, baseline ms, current ms): medians over the rounds of each side's medians.
    `http`: through the whole app, a hit and a miss (else the schema's execution)."""
    probe = HTTP_PROBE if http else PROBE
    sides: dict[str, list[dict[str, float]]] = {"baseline": [], "current": []}
    for _ in range(rounds):
        sides["baseline"].append(_probe(baseline, url, repetitions, period, probe))
        sides["current"].append(_probe(HERE, url, repetitions, period, probe))
    cases = list(sides["current"][0])
    return [
        (
            case,
            statistics.median(run[case] for run in sides["baseline"]),
            statistics.median(run[case] for run in sides["current"]),
        )
        for case in cases
    ]


def _commit(checkout: Path) -> str:
    described = subprocess.run(
        ["git", "-C", str(checkout), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return described.stdout.strip() or "unknown"


def table(
    rows: list[tuple[str, float, float]], period: str, baseline: Path, http: bool = False
) -> str:
    what = "request through the app (ASGI, in process)" if http else "in-process request"
    lines = [
        f"API CPU per {what}, {period}, ms (median of rounds of medians); "
        f"baseline `{_commit(baseline)}`, current `{_commit(HERE)}`.",
        "",
        f"| account / tab{' / cache' if http else ''} | baseline | current | current ÷ baseline |",
        "|---|---|---|---|",
    ]
    for case, before, after in rows:
        lines.append(f"| {case} | {before:.2f} | {after:.2f} | {after / before:.2f}× |")
    return "\n".join(lines)
