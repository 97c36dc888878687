"""`python -m bench aliases`: every tab with and without domain aliases, side by side.

The largest account of a generated database (a copy migrated to head: the run adds and
removes aliases), one period: each tab's own document is asked over HTTP from a uvicorn
worker this run starts, cache off, in alternating rounds without aliases and with
`--aliases` defined through the mutations (bench/alias_pairs.py picks them and checks the
merged answers). Each tab's requests of a side run back to back, with the CPU they cost the
API's process and PostgreSQL's backends read around them. Reports p50, p95 and CPU per
request per tab and side and their ratios (bench/alias_table.py); the requirement is that
the ratios stay near 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import report
from bench.alias_pairs import alias_pairs, merge_problems, strip_volatile
from bench.alias_table import SIDES, tab_figures, table
from bench.database import BenchError
from bench.evidence import largest_account
from bench.process_cpu import BackendCpu, tree_cpu_seconds
from bench.run import Server, token
from persistence.engine import asyncpg_dsn
from queries import TAB_DOCUMENTS, operation_documents, tab_query

_LIST = "query { domainAliases { spelling } }"


async def _post(http: httpx.AsyncClient, document: str, variables: dict[str, Any]) -> Any:
    response = await http.post("/graphql", json={"query": document, "variables": variables})
    body = response.json()
    if response.status_code != 200 or "errors" in body:
        raise BenchError(f"{response.status_code} {str(body)[:300]}")
    return body["data"]


async def _define(http: httpx.AsyncClient, pairs: list[tuple[str, str]]) -> None:
    document = operation_documents()["add-domain-alias.graphql"]
    for spelling, target in pairs:
        await _post(http, document, {"spelling": spelling, "target": target})


async def _remove_all(http: httpx.AsyncClient) -> None:
    document = operation_documents()["remove-domain-alias.graphql"]
    for alias in (await _post(http, _LIST, {}))["domainAliases"]:
        await _post(http, document, {"spelling": alias["spelling"]})


def _load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


async def measure(url: str, period: str, rounds: int, repetitions: int, count: int) -> Any:
    account = await largest_account(url)
    tabs = {tab: tab_query(tab) for tab in TAB_DOCUMENTS}
    variables = {"period": period}
    samples: dict[str, dict[str, list[list[float]]]] = {s: {t: [] for t in tabs} for s in SIDES}
    cpu: dict[str, dict[str, list[tuple[float, float]]]] = {s: {t: [] for t in tabs} for s in SIDES}
    monitor = await asyncpg.connect(asyncpg_dsn(url))
    backends = BackendCpu(monitor)
    loads = [_load()]
    server = Server(url)
    try:
        await server.ready()
        headers = {"Authorization": f"Bearer {token(account)}"}
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=60) as http:
            if (await _post(http, _LIST, {}))["domainAliases"]:
                raise BenchError(f"account {account} has aliases already: use a fresh copy")

            async def answers() -> dict[str, Any]:
                return {tab: await _post(http, doc, variables) for tab, doc in tabs.items()}

            expected = {"without": await answers()}
            domains = expected["without"]["overview"]["overview"]["domains"]
            pairs = alias_pairs(domains, count)
            try:
                await _define(http, pairs)
                expected["with"] = await answers()
                problems = merge_problems(expected["without"], expected["with"], pairs)
                await _remove_all(http)
                for number in range(rounds):
                    for side in SIDES if number % 2 == 0 else SIDES[::-1]:
                        if side == "with":
                            await _define(http, pairs)
                        for tab, document in tabs.items():
                            warm = await _post(http, document, variables)
                            if strip_volatile(warm) != strip_volatile(expected[side][tab]):
                                problems.append(f"round {number} {side}: {tab} answered otherwise")
                            await backends.start()
                            api_before = tree_cpu_seconds(server.process.pid)
                            timings = []
                            for _ in range(repetitions):
                                started = time.perf_counter()
                                await _post(http, document, variables)
                                timings.append(time.perf_counter() - started)
                            api = tree_cpu_seconds(server.process.pid) - api_before
                            cpu[side][tab].append((api, await backends.seconds()))
                            samples[side][tab].append(timings)
                        if side == "with":
                            await _remove_all(http)
                    loads.append(_load())
                    print(f"round {number + 1}/{rounds} done, load {loads[-1]}", flush=True)
            finally:
                await _remove_all(http)
    finally:
        server.stop()
        await monitor.close()
    return {
        "account": str(account),
        "period": period,
        "rounds": rounds,
        "repetitions": repetitions,
        "aliases": pairs,
        "problems": problems,
        "tabs": {
            tab: tab_figures({s: samples[s][tab] for s in SIDES}, {s: cpu[s][tab] for s in SIDES})
            for tab in tabs
        },
        "loads": loads,
        "commit": report.commit(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(args: argparse.Namespace) -> int:
    result = asyncio.run(
        measure(args.database_url, args.period, args.rounds, args.repetitions, args.aliases)
    )
    result["command"] = " ".join(["python -m bench", *sys.argv[1:]])
    print("\n".join(table(result)))
    print(f"aliases: {'; '.join(f'{s} -> {t}' for s, t in result['aliases'])}")
    print(f"load average over the rounds (1, 5, 15 min): {result['loads']}")
    for problem in result["problems"]:
        print(f"check failed: {problem}")
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 1 if result["problems"] else 0
