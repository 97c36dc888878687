"""What tracing costs per request: the same requests with tracing off and on, side by side.

`python -m bench.tracing_cost --database-url URL` (a database at head with the demo data:
`python main.py migrate` and `python main.py seed-demo` against it). Two apps in this
process on the same database, the response cache off so every request runs its SQL: one
untraced, one traced through a batch span processor whose exporter encodes each batch as
OTLP protobuf (the real exporter's CPU, without its HTTP post). Rounds alternate off and on
(the driver and client instrumentations are removed for the off rounds), so a slow minute
of the machine falls on both. Prints the median wall time and CPU time per request of each.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack

import httpx
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from core.auth import issue_token
from core.settings import Settings
from persistence.operations.demo_seed import DEMO_ACCOUNT_ID, DEMO_TEAM_ADMIN_ID
from queries import tab_query
from service.app import create_app
from service.observability import tracing

SECRET = "bench-tracing-secret-0123456789-abcdef"


class EncodeOnly(SpanExporter):
    """Encodes each batch as the OTLP exporter does, then drops it; counts the spans."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        encode_spans(spans).SerializeToString()
        self.spans += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


async def _round(
    client: httpx.AsyncClient,
    path: str,
    body: dict[str, str] | None,
    token: str,
    requests: int,
    flush: TracerProvider | None = None,
) -> tuple[list[float], float]:
    """Each request's wall time, and the round's CPU (this process, every thread) per
    request, the span export of the round included when `flush` is given."""
    walls: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    cpu = time.process_time()
    for _ in range(requests):
        wall = time.perf_counter()
        if body is None:
            response = await client.get(path, headers=headers)
        else:
            response = await client.post(path, json=body, headers=headers)
        walls.append(time.perf_counter() - wall)
        assert response.status_code == 200 and b'"errors"' not in response.content, response.text
    if flush is not None:
        flush.force_flush()
    return walls, (time.process_time() - cpu) / requests


async def measure(database_url: str, rounds: int, requests: int, tab: str) -> None:
    settings = Settings(
        database_url=database_url,
        jwt_secret=SECRET,
        demo=False,
        response_cache=False,
        recalc_interval_s=0,
        outbox_recovery_interval_s=0,
        log_level="WARNING",  # no request line on the terminal; the same for both
        rate_limit_burst_cost=1e12,  # the account's budget never stops the loop
        rate_limit_cost_per_s=1e12,
    )
    token = issue_token(
        settings, account_id=DEMO_ACCOUNT_ID, role="team_admin", user_id=DEMO_TEAM_ADMIN_ID
    )
    exporter = EncodeOnly()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    apps = {"off": create_app(settings), "on": create_app(settings, provider)}
    kinds: dict[str, tuple[str, dict[str, str] | None]] = {
        f"{tab} tab (cache off)": ("/graphql", {"query": tab_query(tab)}),
        "/healthz": ("/healthz", None),
    }
    walls: dict[tuple[str, str], list[float]] = {(k, m): [] for k in kinds for m in apps}
    cpus: dict[tuple[str, str], list[float]] = {(k, m): [] for k in kinds for m in apps}
    async with AsyncExitStack() as stack:
        clients = {}
        for mode, app in apps.items():
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            clients[mode] = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://bench")
            )
        for mode in ("off", "on"):  # warm both: pools, plans, the first connection's setup
            for path, body in kinds.values():
                await _round(clients[mode], path, body, token, 20)
        for _ in range(rounds):
            for mode in ("off", "on"):
                if mode == "off":
                    tracing.uninstrument()
                else:
                    tracing.instrument(provider)
                flush = provider if mode == "on" else None
                for kind, (path, body) in kinds.items():
                    times, cpu = await _round(clients[mode], path, body, token, requests, flush)
                    walls[kind, mode].extend(times)
                    cpus[kind, mode].append(cpu)
    provider.shutdown()
    tracing.uninstrument()
    print(
        f"{rounds} rounds x {requests} requests of each kind, alternating off/on; "
        f"{exporter.spans} spans encoded"
    )
    print(f"{'request':<26} {'tracing':<8} {'wall p50 ms':>12} {'CPU/request ms':>15}")
    for kind in kinds:
        for mode in ("off", "on"):
            wall = statistics.median(walls[kind, mode]) * 1000
            cpu = statistics.median(cpus[kind, mode]) * 1000  # the median round's
            print(f"{kind:<26} {mode:<8} {wall:>12.3f} {cpu:>15.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tracing_cost")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--tab", default="overview")
    args = parser.parse_args()
    asyncio.run(measure(args.database_url, args.rounds, args.requests, args.tab))


if __name__ == "__main__":
    main()
