"""`GET /metrics`: what the process, or every worker of the host, has measured.

With several workers (`serve --workers N`) the metrics live in files shared by the
workers of the host (prometheus_client's multiprocess mode, PROMETHEUS_MULTIPROC_DIR set
by `serve`), so whichever worker answers a scrape answers with the sum over all of them.
The pools' gauge is then written by each worker at every checkout and checkin, and summed
over the live workers only; custom collectors (the build) are served as they are.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import re
import sys
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response


class _Forward(Collector):
    """Exposes the process-wide registry (request and job metrics) in an app's registry."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def multiprocess_dir() -> str | None:
    """The folder the workers share their metrics in, when `serve` runs several."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


_POOL_HELP = "Database connections of the pool, by pool and state (checked_out or idle)."
# Multiprocess mode only: each worker writes its pools' counts, a scrape adds up the live
# workers' (a worker that exits takes its counts with it).
POOL_CONNECTIONS = Gauge(
    "flowpilot_db_pool_connections",
    _POOL_HELP,
    ["pool", "state"],
    multiprocess_mode="livesum",
    registry=None,
)


class PoolCollector(Collector):
    """Connections checked out and idle in each of the app's pools, read at scrape time."""

    def __init__(self, engines: Callable[[], dict[str, AsyncEngine]]) -> None:
        self.engines = engines

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "flowpilot_db_pool_connections", _POOL_HELP, labels=["pool", "state"]
        )
        for name, engine in self.engines().items():
            pool: Any = engine.pool
            gauge.add_metric([name, "checked_out"], float(pool.checkedout()))
            gauge.add_metric([name, "idle"], float(pool.checkedin()))
        yield gauge


def track_pool(name: str, engine: AsyncEngine) -> None:
    """Multiprocess mode: keep this worker's share of the pool gauge current at each
    checkout, checkin, connect and close (a scrape reaches only one worker's pools)."""
    pool: Any = engine.sync_engine.pool

    def update() -> None:
        POOL_CONNECTIONS.labels(pool=name, state="checked_out").set(pool.checkedout())
        POOL_CONNECTIONS.labels(pool=name, state="idle").set(pool.checkedin())

    def update_soon(*_: Any) -> None:
        # The pool fires `checkin` before it takes the connection back: count once it has.
        try:
            asyncio.get_running_loop().call_soon(update)
        except RuntimeError:  # a connection collected outside the event loop
            update()

    for event_name in ("connect", "checkout", "checkin", "close", "invalidate"):
        event.listen(pool, event_name, update_soon)
    update()


class BuildInfo(Collector):
    """`flowpilot_build_info`: always 1, labelled with what is running."""

    def __init__(self) -> None:
        self.labels = {
            "version": _version("flowpilot-analytics"),
            "python": ".".join(str(part) for part in sys.version_info[:3]),
            "strawberry": _version("strawberry-graphql"),
        }

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "flowpilot_build_info",
            "The running version of the service, Python and strawberry-graphql; always 1.",
            labels=list(self.labels),
        )
        gauge.add_metric(list(self.labels.values()), 1.0)
        yield gauge


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def _forget_dead_workers(folder: str) -> None:
    """Drop the live gauges of workers that died without their shutdown (a crash, a
    kill): uvicorn starts another in their place, which writes its own."""
    for entry in os.scandir(folder):
        match = _LIVE_FILE.match(entry.name)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]
        except PermissionError:  # alive, another user's: not ours to judge
            continue


_LIVE_FILE = re.compile(r"^gauge_live\w+?_(\d+)\.db$")


class _Workers(Collector):
    """Every worker's metrics, from the shared folder (the live ones' gauges only)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.files = multiprocess.MultiProcessCollector(None, folder)  # type: ignore[no-untyped-call]

    def collect(self) -> Iterator[Metric]:
        _forget_dead_workers(self.folder)
        yield from self.files.collect()  # type: ignore[no-untyped-call]


def worker_exits() -> None:
    """Multiprocess mode: this worker's live gauges leave the sum as it stops."""
    folder = multiprocess_dir()
    if folder is not None:
        multiprocess.mark_process_dead(os.getpid(), folder)  # type: ignore[no-untyped-call]


def app_registry(engines: Callable[[], dict[str, AsyncEngine]]) -> CollectorRegistry:
    """The registry `/metrics` serves: the process's (or every worker's) metrics, the
    app's pools and the build."""
    registry = CollectorRegistry(auto_describe=False)
    folder = multiprocess_dir()
    if folder is None:
        registry.register(_Forward())
        registry.register(PoolCollector(engines))
    else:
        registry.register(_Workers(folder))
    registry.register(BuildInfo())
    return registry


def database_engines(app: Any) -> dict[str, AsyncEngine]:
    """The app's pools by name, once its lifespan has connected the database."""
    database = getattr(app.state, "database", None)
    if database is None:
        return {}
    engines = {"primary": database.primary_engine}
    if database.read_engine is not database.primary_engine:
        engines["read"] = database.read_engine
    return engines


class MetricsEndpoint:
    """`GET /metrics` in the Prometheus text format; behind a bearer token when one is set
    (METRICS_TOKEN): the counters describe every tenant's traffic together, which is the
    operator's to read, not a tenant's."""

    def __init__(
        self, engines: Callable[[], dict[str, AsyncEngine]], token: str | None = None
    ) -> None:
        self.registry = app_registry(engines)
        self._expected = f"Bearer {token}".encode() if token else None

    async def handle(self, request: Request) -> Response:
        if self._expected is not None:
            sent = (request.headers.get("authorization") or "").encode()
            if not hmac.compare_digest(sent, self._expected):
                return Response(
                    "metrics need Authorization: Bearer <METRICS_TOKEN>\n",
                    401,
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                    media_type="text/plain",
                )
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
