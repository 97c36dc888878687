"""Per-request observability: one JSON log line and Prometheus metrics per HTTP request.

A `RequestRecord` lives in a context variable for the length of a request. The GraphQL
view and the CSV export fill in the account, operation and error codes; a SQLAlchemy
listener counts the statements the request sends. At the end the middleware writes
one log line (ids only: no tokens, secrets or personal data) and updates the metrics.
`/metrics` itself is service/observability/metrics_endpoint.py.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from prometheus_client import Counter, Histogram
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from core.error_codes import ErrorCode
from service.http.request_id import current_request_id

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
    """The request line's own fields (observability/log_format.py adds time, level, logger)."""
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
