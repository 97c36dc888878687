"""`python -m bench evidence`: the first page of every evidence filter over HTTP.

The largest account of a generated database, the last 90 days: the tabs are read once
over HTTP to find the filters a lead can open (the largest and the smallest domain, the
unmapped sessions, the most and least used flow, each tier, outcome and funnel step, a
trend day, the PSA kinds and a PSA day), then each filter's first page (50 rows, every
session field and its pushes) is asked `--repetitions` times from a uvicorn worker this
run starts, cache off. Reports p50 and p95 per filter and the slowest p95, with the load
average at the start, after each filter and at the end (the machine may be shared).

`--server-checkout` serves another checkout's code (an earlier commit, against the schema
it expects) with this harness, so a before and an after run are measured alike;
`python -m bench report` puts the latest run (`bench/results/evidence-L.json`) on
docs/benchmarks.md, beside the run in `evidence-L.before.json` when there is one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import report
from bench.run import Server, token
from bench.stats import summary_ms
from persistence.engine import asyncpg_dsn

SESSION_PAGE = """
query ($filter: EvidenceFilter, $period: Period) {
  sessionEvidence(filter: $filter, period: $period, first: 50) {
    totalCount
    nodes { id startedAt resolvedAt status problemDomain domainKey confidenceTier
            matchedFlowId matchedFlowName matchConfidence resolutionMinutes rating psaTicketId
            pushes { id type hours createdAt } }
    pageInfo { endCursor hasNextPage }
  }
}
"""
PSA_PAGE = """
query ($type: PsaActivityType, $day: Date, $period: Period) {
  psaActivityEvidence(type: $type, day: $day, period: $period, first: 50) {
    totalCount nodes { id sessionId type hours createdAt } pageInfo { endCursor hasNextPage }
  }
}
"""
TABS = """
query ($period: Period) {
  overview(period: $period) { to domains { name sessionCount } }
  coverage(period: $period) { unmappedSessionCount }
  flowQuality(period: $period, sort: USAGE) { flows { usageCount flow { id } } }
}
"""


async def largest_account(url: str) -> uuid.UUID:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        row = await connection.fetchrow(
            "SELECT account_id FROM ai_sessions GROUP BY account_id ORDER BY count(*) DESC LIMIT 1"
        )
    finally:
        await connection.close()
    assert row is not None
    account: uuid.UUID = row["account_id"]
    return account


def filters(tabs: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each case: its document and variables (besides the period)."""
    domains = tabs["overview"]["domains"]
    used = [flow for flow in tabs["flowQuality"]["flows"] if flow["usageCount"] > 0]
    day = (date.fromisoformat(tabs["overview"]["to"]) - timedelta(days=10)).isoformat()
    cases: dict[str, tuple[str, dict[str, Any]]] = {
        "every session": (SESSION_PAGE, {}),
        "largest domain": (SESSION_PAGE, {"filter": {"domain": domains[0]["name"]}}),
        "smallest domain": (SESSION_PAGE, {"filter": {"domain": domains[-1]["name"]}}),
        "smallest domain, escalated": (
            SESSION_PAGE,
            {"filter": {"domain": domains[-1]["name"], "outcome": "ESCALATED"}},
        ),
        "unmapped": (SESSION_PAGE, {"filter": {"unmapped": True}}),
        "most used flow": (SESSION_PAGE, {"filter": {"flowId": used[0]["flow"]["id"]}}),
        "least used flow": (SESSION_PAGE, {"filter": {"flowId": used[-1]["flow"]["id"]}}),
        "least used flow, resolved": (
            SESSION_PAGE,
            {"filter": {"flowId": used[-1]["flow"]["id"], "outcome": "RESOLVED"}},
        ),
        "trend day": (SESSION_PAGE, {"filter": {"day": day}}),
        "trend day, escalated": (SESSION_PAGE, {"filter": {"day": day, "outcome": "ESCALATED"}}),
        "all time entries": (PSA_PAGE, {"type": "TIME_ENTRY_POSTED"}),
        "PSA day, time entries": (PSA_PAGE, {"type": "TIME_ENTRY_POSTED", "day": day}),
        "status updates": (PSA_PAGE, {"type": "STATUS_UPDATED"}),
    }
    for tier in ("GUIDED", "EXPLORING", "DISCOVERY", "UNKNOWN"):
        cases[f"tier {tier}"] = (SESSION_PAGE, {"filter": {"tier": tier}})
    for outcome in ("RESOLVED", "ESCALATED"):
        cases[f"outcome {outcome}"] = (SESSION_PAGE, {"filter": {"outcome": outcome}})
    for step in ("LINKED_TO_TICKET", "DOC_PUSHED", "TIME_ENTRY_LOGGED"):
        cases[f"funnel {step}"] = (SESSION_PAGE, {"filter": {"funnelStep": step}})
    return cases


def checkout_commit(checkout: Path | None) -> str:
    """The commit the server runs (`+dirty` with uncommitted changes), or "unknown"."""
    if checkout is None:
        return report.commit()
    try:
        head = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")  # fmt: skip


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


async def measure(
    url: str, period: str, repetitions: int, checkout: Path | None = None
) -> dict[str, Any]:
    account = await largest_account(url)
    load_at_start = load_average()
    server = Server(url, checkout)
    try:
        await server.ready()
        headers = {"Authorization": f"Bearer {token(account)}"}
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=60) as http:

            async def post(document: str, variables: dict[str, Any]) -> dict[str, Any]:
                response = await http.post(
                    "/graphql", json={"query": document, "variables": variables}
                )
                body: dict[str, Any] = response.json()
                if response.status_code != 200 or "errors" in body:
                    raise RuntimeError(f"{response.status_code} {body}")
                data: dict[str, Any] = body["data"]
                return data

            tabs = await post(TABS, {"period": period})
            results: dict[str, Any] = {}
            for name, (document, variables) in filters(tabs).items():
                variables = {**variables, "period": period}
                try:
                    data = await post(document, variables)  # warm: plan and cache
                    total = next(iter(data.values()))["totalCount"]
                    timings = []
                    for _ in range(repetitions):
                        started = time.perf_counter()
                        await post(document, variables)
                        timings.append(time.perf_counter() - started)
                except RuntimeError as error:  # a refusal (TIMEOUT) is a result too
                    results[name] = {"error": str(error)[:200], "p95": float("inf")}
                    print(f"{name}: {results[name]['error']}", flush=True)
                    continue
                load = load_average()[0]
                results[name] = {"totalCount": total, **summary_ms(timings), "load_1m": load}
                print(f"{name}: p95 {results[name]['p95']:.1f} ms (load {load:.2f})", flush=True)
    finally:
        server.stop()
    slowest = max(results, key=lambda name: results[name]["p95"])
    return {
        "account": str(account),
        "period": period,
        "server_commit": checkout_commit(checkout),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_at_start": load_at_start,
        "load_average_at_end": load_average(),
        "cases": results,
        "slowest": slowest,
    }


def main(args: argparse.Namespace) -> int:
    checkout = Path(args.server_checkout).resolve() if args.server_checkout else None
    result = asyncio.run(measure(args.database_url, args.period, args.repetitions, checkout))
    result["command"] = " ".join(["python -m bench", *sys.argv[1:]])
    for name, case in result["cases"].items():
        if "error" in case:
            print(f"{name:32} {case['error']}")
            continue
        print(
            f"{name:32} total {case['totalCount']:>8}  p50 {case['p50']:6.1f} ms"
            f"  p95 {case['p95']:6.1f} ms"
        )
    slowest = result["slowest"]
    print(f"slowest p95: {slowest} {result['cases'][slowest]['p95']:.1f} ms")
    start, end = result["load_average_at_start"], result["load_average_at_end"]
    print(f"load average (1, 5, 15 min): at start {start}, at end {end}")
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    return 0
