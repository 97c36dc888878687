"""Server-side latency from the request log: what the server spent on each request,
whichever client sent it, so two load generators can be compared on the same footing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bench.day_mix import OPERATION_TABS, TABS
from bench.stats import percentile


def request_lines(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The JSON request lines (service/observability.py) among a server's output lines."""
    out = []
    for line in lines:
        if line.startswith("{") and '"request"' in line:
            parsed = json.loads(line)
            if parsed.get("event") == "request":
                out.append(parsed)
    return out


def _at(line: dict[str, Any]) -> float:
    return datetime.fromisoformat(line["timestamp"]).timestamp()


def server_figures(lines: list[dict[str, Any]], start: float, end: float) -> dict[str, Any]:
    """GraphQL requests logged (finished) between `start` and `end` (Unix seconds): how
    many per second, errors, p50/p95 in all and per tab, and the cache's outcomes."""
    window = [line for line in lines if line.get("path") == "/graphql" and start <= _at(line) < end]
    seconds = end - start
    durations = [line["duration_ms"] for line in window]
    by_tab: dict[str, list[float]] = {tab: [] for tab in TABS}
    for line in window:
        tab = OPERATION_TABS.get(line.get("operation") or "")
        if tab is not None:
            by_tab[tab].append(line["duration_ms"])
    outcomes = Counter((line.get("cache") or "").split(":")[0] for line in window)
    outcomes.pop("", None)
    return {
        "requests": len(window),
        "rps": len(window) / seconds if seconds > 0 else None,
        "errors": sum(1 for line in window if line.get("result") != "ok"),
        "p50_ms": percentile(durations, 50) if durations else None,
        "p95_ms": percentile(durations, 95) if durations else None,
        "tabs": {
            tab: {
                "n": len(values),
                "p50_ms": percentile(values, 50) if values else None,
                "p95_ms": percentile(values, 95) if values else None,
            }
            for tab, values in by_tab.items()
        },
        "cache_outcomes": dict(outcomes),
    }
