"""What sharing the account limits through Redis costs per request, side by side with
per-process limits, in one run against one Redis.

Two in-process apps on the same database and the same REDIS_URL, one with
ACCOUNT_LIMITS_SHARED off and one with it on, answer the demo account's Overview in
alternating rounds: with the response cache (a hit: the budget checked twice and one
slot taken, Redis answering each) and without it (an execution, the cost charged in
Redis). Prints the median wall and CPU time per request of each.

    python -m bench.limits_cost --database-url URL --redis-url redis://127.0.0.1:6379/15
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from contextlib import AsyncExitStack
from typing import Any

import httpx

from core.auth import issue_token
from core.settings import Settings
from persistence.operations.demo_seed import DEMO_ACCOUNT_ID
from queries import tab_query
from service.app import create_app

SECRET = "bench-limits-cost-secret-0123456789abcdef"


def _settings(database_url: str, redis_url: str, shared: bool, cached: bool) -> Settings:
    return Settings(
        database_url=database_url, jwt_secret=SECRET, demo=False, redis_url=redis_url,
        shared_account_limits=shared, response_cache=cached, recalc_interval_s=0,
        outbox_recovery_interval_s=0,
        # A budget no request here exhausts: its arithmetic runs, it never refuses.
        rate_limit_burst_cost=1e12, rate_limit_cost_per_s=1e9,
    )  # fmt: skip


async def _round(client: httpx.AsyncClient, token: str, requests: int) -> tuple[float, float]:
    body = {"query": tab_query("overview"), "variables": {"period": "LAST_30_DAYS"}}
    headers = {"Authorization": f"Bearer {token}"}
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        response = await client.post("/graphql", json=body, headers=headers)
        if response.status_code != 200 or "errors" in response.json():
            raise RuntimeError(response.text)
    return (time.perf_counter() - wall) / requests, (time.process_time() - cpu) / requests


async def measure(database_url: str, redis_url: str, rounds: int, requests: int) -> list[str]:
    lines = []
    for cached in (True, False):
        samples: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        async with AsyncExitStack() as stack:
            clients: dict[bool, httpx.AsyncClient] = {}
            for shared in (False, True):
                settings = _settings(database_url, redis_url, shared, cached)
                app = create_app(settings)
                logging.getLogger("flowpilot.requests").disabled = True  # no line per request
                await stack.enter_async_context(app.router.lifespan_context(app))
                transport = httpx.ASGITransport(app=app)
                clients[shared] = await stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url="http://bench")
                )
            token = issue_token(settings, account_id=DEMO_ACCOUNT_ID, role="team_admin")
            for shared in (False, True):  # warm: connections, caches, the stored answer
                await _round(clients[shared], token, 20)
            for _ in range(rounds):
                for shared in (False, True):
                    samples[shared].append(await _round(clients[shared], token, requests))
        kind = "cache hit" if cached else "execution"
        for shared in (False, True):
            wall = statistics.median(s[0] for s in samples[shared]) * 1e6
            cpu = statistics.median(s[1] for s in samples[shared]) * 1e6
            where = "shared (Redis)" if shared else "per process   "
            lines.append(f"{kind:9} {where}: {wall:7.0f} µs wall, {cpu:7.0f} µs CPU per request")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.limits_cost", description=__doc__)
    parser.add_argument("--database-url", required=True, help="a migrated database")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=200, help="per round and setting")
    args: Any = parser.parse_args(argv)
    # The event loop `serve` runs under (uvicorn's loop="auto": uvloop where installed).
    try:
        import uvloop

        run: Any = uvloop.run
    except ImportError:  # pragma: no cover - a dependency on CPython outside Windows
        run = asyncio.run
    for line in run(measure(args.database_url, args.redis_url, args.rounds, args.requests)):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
