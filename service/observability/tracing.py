"""OpenTelemetry tracing, off unless the standard OTEL_* variables ask for it.

When on, one trace per HTTP request: the server span (W3C `traceparent` read from the
request, `traceresponse` returned), a span for the GraphQL operation (its name and type,
never its text), a span per SQL statement (the statement with its `$n` placeholders, never
the values) and a span per call to the PSA (httpx, which sends `traceparent` on). The
account id rides on the server span as `flowpilot.account_id` unless TRACE_ACCOUNT_ID is
off. When off, nothing is installed: no middleware, no wrapped driver, no extension.

The maintained instrumentations do the work (ASGI, asyncpg, httpx); the GraphQL span is a
small extension of ours because strawberry's OpenTelemetryExtension records the whole
document as an attribute, and a span per resolver besides.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.propagators import (
    TraceResponsePropagator,
    set_global_response_propagator,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from starlette.middleware import Middleware
from strawberry.extensions import SchemaExtension

from core.settings import SettingsError

SERVICE_NAME = "flowpilot-analytics"
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,99}$")


def tracing_requested(environ: Mapping[str, str]) -> bool:
    """True when the OTEL_* variables name a trace exporter or an OTLP endpoint, and the
    SDK is not disabled. Unlike the SDK's own default (otlp), nothing set means off."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters:
        return exporters != "none"
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def exporter_names(environ: Mapping[str, str]) -> list[str]:
    """The trace exporters asked for (none when tracing is off); SettingsError, in one
    line, for one this service does not ship. `serve` checks this before its workers."""
    if not tracing_requested(environ):
        return []
    raw = environ.get("OTEL_TRACES_EXPORTER", "otlp").lower().split(",")
    names = [name.strip() for name in raw if name.strip() and name.strip() != "none"]
    for name in names:
        if name not in {"otlp", "console"}:
            raise SettingsError(f"OTEL_TRACES_EXPORTER must be otlp, console or none, got {name!r}")
    protocol = environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    )
    if "otlp" in names and protocol != "http/protobuf":
        raise SettingsError(f"OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf, got {protocol!r}")
    return names


def _exporter(name: str) -> SpanExporter:
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # endpoint, headers, timeout: OTEL_EXPORTER_OTLP_*
    # console: one JSON object per line on stdout, like the logs
    return ConsoleSpanExporter(formatter=lambda span: span.to_json(indent=None) + "\n")


def provider_from_env(environ: Mapping[str, str] | None = None) -> TracerProvider | None:
    """The tracer provider the OTEL_* variables describe, or None when tracing is off.
    Sampling (OTEL_TRACES_SAMPLER), batching (OTEL_BSP_*) and propagation
    (OTEL_PROPAGATORS) are the SDK's own reading of the environment."""
    environ = os.environ if environ is None else environ
    if not tracing_requested(environ):
        return None
    exporters = [_exporter(name) for name in exporter_names(environ)]
    resource = Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME", SERVICE_NAME)})
    provider = TracerProvider(resource=resource)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


class TraceOperation(SchemaExtension):
    """A span around the GraphQL operation, named by its type and name (a plain name
    only: a client's text never becomes a span name or attribute)."""

    tracer: trace.Tracer

    def on_operation(self) -> Iterator[None]:
        with self.tracer.start_as_current_span("graphql.operation") as span:
            yield
            context = self.execution_context
            name = context.operation_name
            try:
                kind = context.operation_type.value
            except Exception:  # no operation could be chosen (a parse or selection error)
                kind = "unknown"
            span.set_attribute("graphql.operation.type", kind)
            if name and _NAME.match(name):
                span.set_attribute("graphql.operation.name", name)
                span.update_name(f"{kind} {name}")
            else:
                span.update_name(kind)


def operation_extension(provider: TracerProvider) -> Callable[[], SchemaExtension]:
    """`TraceOperation` bound to `provider`'s tracer, as a schema extension class."""
    tracer = trace.get_tracer(__name__, tracer_provider=provider)
    return type("TraceOperation", (TraceOperation,), {"tracer": tracer})


def instrument(provider: TracerProvider) -> Middleware:
    """Install the driver and client instrumentations once per process, and return the
    ASGI middleware that opens each request's span (to be the outermost one)."""
    set_global_response_propagator(TraceResponsePropagator())  # type: ignore[no-untyped-call]
    asyncpg_instrumentor: Any = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
    if not asyncpg_instrumentor.is_instrumented_by_opentelemetry:
        asyncpg_instrumentor.instrument(tracer_provider=provider)
    httpx_instrumentor: Any = HTTPXClientInstrumentor()
    if not httpx_instrumentor.is_instrumented_by_opentelemetry:
        httpx_instrumentor.instrument(tracer_provider=provider)
    return Middleware(
        OpenTelemetryMiddleware,
        tracer_provider=provider,
        exclude_spans=["receive", "send"],  # one span per request, not per ASGI message
    )


def uninstrument() -> None:
    """Undo `instrument`'s process-wide part (the driver, the client, the response header)."""
    instrumentors: tuple[Any, ...] = (AsyncPGInstrumentor(), HTTPXClientInstrumentor())  # type: ignore[no-untyped-call]
    for instrumentor in instrumentors:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    set_global_response_propagator(None)  # type: ignore[no-untyped-call]
