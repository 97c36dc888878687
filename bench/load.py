"""A bounded async load client: N workers posting one GraphQL request each, in a loop.

Each worker waits for its response before sending the next, so exactly N requests are
in flight; the measurement runs for a fixed time after a short warm-up.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from bench.stats import percentile


async def _post(http: httpx.AsyncClient, body: dict[str, Any]) -> bool:
    try:
        response = await http.post("/graphql", json=body)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and "errors" not in response.json()


async def throughput(
    base_url: str, token: str, body: dict[str, Any], concurrency: int, seconds: float
) -> dict[str, Any]:
    """Requests completed per second inside the window, their latencies, and every error.

    A request that fails, even after the window closed, counts as an error; only requests
    that succeeded within the window count towards the rate.
    """
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=30.0
    ) as http:
        warm_until = time.perf_counter() + min(1.0, seconds / 5)
        stop_at = warm_until + seconds

        async def worker() -> None:
            nonlocal errors
            while (sent := time.perf_counter()) < stop_at:
                ok = await _post(http, body)
                done = time.perf_counter()
                if warm_until <= sent:
                    errors += 0 if ok else 1
                    if ok and done <= stop_at:
                        latencies.append(done - sent)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {
        "concurrency": concurrency,
        "seconds": seconds,
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 50) * 1000 if latencies else None,
        "p95_ms": percentile(latencies, 95) * 1000 if latencies else None,
    }
