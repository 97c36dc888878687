"""A bounded async load client: N workers posting one GraphQL request each, in a loop.

Each worker waits for its response before sending the next, so exactly N requests are
in flight; the measurement runs for a fixed time after a short warm-up.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx

from bench.stats import percentile


async def _post(http: httpx.AsyncClient, body: dict[str, Any]) -> str | None:
    """None on success, else what went wrong: the HTTP status and the first error code."""
    try:
        response = await http.post("/graphql", json=body)
    except httpx.HTTPError as error:
        return type(error).__name__
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if response.status_code == 200 and not errors:
        return None
    code = (errors[0].get("extensions") or {}).get("code") if errors else None
    return f"{response.status_code} {code or ''}".strip()


async def throughput(
    base_url: str, token: str, body: dict[str, Any], concurrency: int, seconds: float
) -> dict[str, Any]:
    """Requests completed per second inside the window, their latencies, and every error.

    Every failed request counts as an error, warm-up included; the rate counts the
    successful requests that completed inside the window (whenever they were sent).
    """
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    errors = 0
    kinds: Counter[str] = Counter()
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=30.0
    ) as http:
        warm_until = time.perf_counter() + min(1.0, seconds / 5)
        stop_at = warm_until + seconds

        async def worker() -> None:
            nonlocal errors
            while (sent := time.perf_counter()) < stop_at:
                failure = await _post(http, body)
                done = time.perf_counter()
                if failure is not None:
                    errors += 1
                    kinds[failure] += 1
                elif warm_until <= done <= stop_at:
                    latencies.append(done - sent)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {
        "concurrency": concurrency,
        "seconds": seconds,
        "requests": len(latencies),
        "errors": errors,
        "error_kinds": dict(kinds),
        "rps": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 50) * 1000 if latencies else None,
        "p95_ms": percentile(latencies, 95) * 1000 if latencies else None,
    }
