"""Per-request observability: one JSON log line and Prometheus metrics per HTTP request.

A `RequestRecord` lives in a context variable for the length of a request. The GraphQL
view and the CSV export fill in the account, operation and error codes; a SQLAlchemy
listener counts the statements the request sends. At the end the middleware writes
one log line (ids only: no tokens, secrets or personal data) and updates the metrics.

With several workers (`serve --workers N`) the metrics live in files shared by the
workers of the host (prometheus_client's multiprocess mode, PROMETHEUS_MULTIPROC_DIR set
by `serve`), so any worker's `/metrics` answers with the sum over all of them.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from opentelemetry import trace
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from core.error_codes import ErrorCode
from service.request_id import current_request_id

request_logger = logging.getLogger("flowpilot.requests")

REQUESTS = Counter(
    "flowpilot_requests",
    "HTTP requests served, by GraphQL operation (or route) and outcome (ok or error code).",
    ["operation", "outcome"],
)
LATENCY = Histogram(
    "flowpilot_request_duration_seconds",
    "Time to answer an HTTP request, by operation and outcome.",
    ["operation", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
JOB_RUNS = Counter(
    "flowpilot_job_runs", "Background job runs, by job and outcome.", ["job", "outcome"]
)
JOB_DURATION = Histogram(
    "flowpilot_job_duration_seconds",
    "Background job run time, by job.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0),
)

ACCOUNT_ATTRIBUTE = "flowpilot.account_id"
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,99}$")
_FIXED_ROUTES = {"/graphql", "/healthz", "/readyz", "/metrics"}


@dataclass
class RequestRecord:
    """What one request did; mutated in place by whoever learns something about it."""

    request_id: str | None
    method: str
    path: str
    account_id: str | None = None
    operation: str | None = None  # for the log: the operation's name, if it is a plain name
    label: str | None = None  # for the metrics: a bounded label, see `operation_label`
    statements: int = 0
    codes: list[str] = field(default_factory=list)
    status: int | None = None
    cache: str | None = None  # response cache outcome (service/response_cache)
    trace_account: bool = False  # put the account on the request's trace span

    @property
    def outcome(self) -> str:
        if self.codes:
            return self.codes[0]
        if self.status is not None and self.status >= 400:
            return f"HTTP_{self.status}"
        return "ok"


_current: ContextVar[RequestRecord | None] = ContextVar("flowpilot_request_record", default=None)


def current_record() -> RequestRecord | None:
    return _current.get()


def note_account(account_id: object) -> None:
    record = _current.get()
    if record is not None:
        record.account_id = str(account_id)
        if record.trace_account:
            trace.get_current_span().set_attribute(ACCOUNT_ATTRIBUTE, record.account_id)


def note_operation(name: str | None, label: str | None = None) -> None:
    """The request's operation name (logged) and its metrics label. Pass `label` only from
    a bounded set (known operations, `other`, `export:<tab>`), never a client's own name."""
    record = _current.get()
    if record is None:
        return
    if name and _NAME.match(name.replace(":", "_").replace("-", "_")):
        record.operation = name
    if label is not None:
        record.label = label


class LogOperationName(SchemaExtension):
    """Names the operation in the request log, when the request did not, from the document
    strawberry parsed (the one limited, cached parse: this never parses again)."""

    def on_parse(self) -> Iterator[None]:
        yield
        record = _current.get()
        if record is not None and record.operation is None:
            note_operation(self.execution_context.operation_name)


def note_errors(codes: Iterable[str]) -> None:
    record = _current.get()
    if record is not None:
        record.codes.extend(codes)


def note_cache(outcome: str) -> None:
    record = _current.get()
    if record is not None:
        record.cache = outcome


def observe_job(name: str, seconds: float, ok: bool) -> None:
    """Record one run of a background job (recalculation, rollups) in the metrics."""
    JOB_RUNS.labels(job=name, outcome="ok" if ok else "error").inc()
    JOB_DURATION.labels(job=name).observe(seconds)


def note_statement() -> None:
    """One statement sent for the request by other means than an engine (the cache's
    lookup on its own asyncpg pool)."""
    record = _current.get()
    if record is not None:
        record.statements += 1


def _count_statement(*_: Any) -> None:
    note_statement()


def count_statements(engine: AsyncEngine) -> None:
    """Count every statement sent through `engine` against the request that sent it."""
    sync_engine = engine.sync_engine
    if not event.contains(sync_engine, "before_cursor_execute", _count_statement):
        event.listen(sync_engine, "before_cursor_execute", _count_statement)


def operation_label(record: RequestRecord) -> str:
    """A bounded label: what the endpoint noted, else the fixed route, else `other`."""
    if record.label is not None:
        return record.label
    return record.path if record.path in _FIXED_ROUTES else "other"


def log_fields(record: RequestRecord, duration_ms: float) -> dict[str, Any]:
    """The request line's own fields (service/log_format.py adds time, level and logger)."""
    return {
        "event": "request",
        "request_id": record.request_id,
        "method": record.method,
        "path": record.path,
        "status": record.status,
        "account_id": record.account_id,
        "operation": record.operation,
        "duration_ms": round(duration_ms, 3),
        "sql_statements": record.statements,
        "result": "ok" if record.outcome == "ok" else "error",
        "error_codes": record.codes,
        "cache": record.cache,
    }


class ObservabilityMiddleware:
    """Pure ASGI: wraps each HTTP request in a record, then logs and measures it.
    `trace_account`: the account id goes on the request's trace span (tracing on, and
    TRACE_ACCOUNT_ID not switched off)."""

    def __init__(self, app: ASGIApp, trace_account: bool = False) -> None:
        self.app = app
        self.trace_account = trace_account

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = RequestRecord(current_request_id(), scope["method"], scope["path"])
        record.trace_account = self.trace_account
        token = _current.set(record)
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = int(message["status"])
                if record.request_id is None:  # the id middleware runs inside this one
                    for name, value in message.get("headers", ()):
                        if name.lower() == b"x-request-id":
                            record.request_id = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        except BaseException:
            record.status = 500
            if not record.codes:
                record.codes.append(ErrorCode.INTERNAL)
            raise
        finally:
            seconds = time.perf_counter() - started
            _current.reset(token)
            labels = {"operation": operation_label(record), "outcome": record.outcome}
            REQUESTS.labels(**labels).inc()
            LATENCY.labels(**labels).observe(seconds)
            request_logger.info("request", extra=log_fields(record, seconds * 1000))


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
