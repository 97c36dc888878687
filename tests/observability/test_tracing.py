"""OpenTelemetry tracing with the SDK's in-memory exporter: one request is one trace (the
caller's `traceparent` honoured) with the server span, the GraphQL operation by name, a
span per SQL statement without values and a span per PSA call, which carries the trace on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import SettingsError
from service.app import create_app
from service.observability import tracing
from tests.factories import AccountBuilder
from tests.fakes.connectwise_server import FakeConnectWise, serve
from tests.graphql_client import ApiClient, settings_for_tests, token_for
from tests.observability.served import free_port
from tests.service.test_cli import SECRET, assert_one_line_failure, run
from tests.writes.conftest import SECRET_KEY, connect_account, provider_factory

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
OVERVIEW = "query TracedOverview { overview(period: LAST_7_DAYS) { sessionCount } }"
NOTE = """
mutation TracedNote($input: PushTicketNoteInput!) {
  pushTicketNote(input: $input) { externalId }
}
"""


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    yield spans
    tracing.uninstrument()


@pytest.fixture(scope="module")
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    traced = TracerProvider()
    traced.add_span_processor(SimpleSpanProcessor(exporter))
    return traced


@pytest.fixture(scope="module")
def fake_cw() -> Iterator[FakeConnectWise]:
    fake = FakeConnectWise()
    with serve(fake):
        yield fake


@asynccontextmanager
async def traced_app(
    database_url: str, provider: TracerProvider, fake: FakeConnectWise, **overrides: object
) -> AsyncIterator[ApiClient]:
    settings = settings_for_tests(database_url, psa_secret_key=SECRET_KEY, **overrides)
    app = create_app(settings, provider)
    async with app.router.lifespan_context(app):
        app.state.psa_pushes.provider_factory = provider_factory(fake)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield ApiClient(http, app)


@pytest.fixture(scope="module")
async def api_traced(
    database_url: str, provider: TracerProvider, fake_cw: FakeConnectWise
) -> AsyncIterator[ApiClient]:
    async with traced_app(database_url, provider, fake_cw) as client:
        yield client


def hex_id(value: int, width: int) -> str:
    return format(value, f"0{width}x")


def statement(span: ReadableSpan) -> str:
    attributes = span.attributes or {}
    return str(attributes.get("db.statement") or attributes.get("db.query.text") or "")


def by_kind(spans: list[ReadableSpan], kind: SpanKind) -> list[ReadableSpan]:
    return [span for span in spans if span.kind == kind]


async def test_one_request_is_one_trace_with_operation_and_statement_spans(
    api_traced: ApiClient,
    exporter: InMemorySpanExporter,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    account = await AccountBuilder.create(sessionmaker)
    token = token_for(account.account_id)
    exporter.clear()
    response = await api_traced.post(OVERVIEW, token=token, headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200 and "errors" not in response.json()
    spans = list(exporter.get_finished_spans())

    assert {hex_id(span.context.trace_id, 32) for span in spans} == {TRACE_ID}
    (server,) = by_kind(spans, SpanKind.SERVER)
    assert server.parent is not None and hex_id(server.parent.span_id, 16) == PARENT_ID
    assert server.name == "POST /graphql"
    assert (server.attributes or {})["flowpilot.account_id"] == str(account.account_id)
    server_id = hex_id(server.context.span_id, 16)
    assert response.headers["traceresponse"] == f"00-{TRACE_ID}-{server_id}-01"

    (operation,) = [span for span in spans if span.name.startswith("query")]
    assert operation.name == "query TracedOverview"
    assert dict(operation.attributes or {}) == {
        "graphql.operation.type": "query",
        "graphql.operation.name": "TracedOverview",
    }
    assert operation.parent is not None and operation.parent.span_id == server.context.span_id

    sql = by_kind(spans, SpanKind.CLIENT)
    texts = [statement(span) for span in sql]
    assert all(texts), "every SQL span has its statement"
    # The account is bound as a parameter: it appears on the server span, never in SQL.
    assert not any(str(account.account_id) in text for text in texts)
    # The read snapshot: its transaction, the data state (the account as $1), the tab's
    # statement, the end of the transaction.
    # (the statement timeout rides the BEGIN as SET LOCAL: persistence.engine)
    assert any(t.startswith("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;") for t in texts)
    assert "SELECT version, epoch, timezone FROM flowpilot_data_state($1)" in texts
    assert any("sum(r.sessions)" in text for text in texts)
    assert texts[-1] == "COMMIT;"


async def test_a_psa_call_is_a_span_and_carries_the_trace_on(
    api_traced: ApiClient,
    exporter: InMemorySpanExporter,
    sessionmaker: async_sessionmaker[AsyncSession],
    fake_cw: FakeConnectWise,
) -> None:
    fake_cw.reset()
    builder = await AccountBuilder.create(sessionmaker)
    await connect_account(sessionmaker, builder, fake_cw)
    engineer = await builder.user("engineer")
    session = await builder.session(
        datetime.now(UTC) - timedelta(hours=2), ticket="100", user_id=engineer
    )
    token = token_for(builder.account_id, "engineer", user_id=engineer)
    exporter.clear()
    response = await api_traced.post(
        NOTE,
        {"input": {"sessionId": str(session), "text": "Root cause: stale cert"}},
        token=token,
        headers={"traceparent": TRACEPARENT},
    )
    assert "errors" not in response.json(), response.text
    spans = list(exporter.get_finished_spans())
    assert {hex_id(span.context.trace_id, 32) for span in spans} == {TRACE_ID}
    calls = [span for span in by_kind(spans, SpanKind.CLIENT) if not statement(span)]
    (call,) = calls
    assert call.name == "POST"
    (request,) = fake_cw.requests
    sent = request.headers["traceparent"]
    assert sent == f"00-{TRACE_ID}-{hex_id(call.context.span_id, 16)}-01"
    assert "stale cert" not in str(dict(call.attributes or {}))


async def test_the_account_attribute_can_be_switched_off(
    database_url: str,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    fake_cw: FakeConnectWise,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    account = await AccountBuilder.create(sessionmaker)
    async with traced_app(database_url, provider, fake_cw, trace_account_id=False) as api:
        exporter.clear()
        await api.data(OVERVIEW, token=token_for(account.account_id))
    (server,) = by_kind(list(exporter.get_finished_spans()), SpanKind.SERVER)
    assert "flowpilot.account_id" not in (server.attributes or {})
    assert server.parent is None  # no traceparent sent: a new trace


@pytest.mark.parametrize(
    ("environ", "requested"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "analytics"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, False),
    ],
)
def test_tracing_is_off_unless_the_otel_variables_ask(
    environ: dict[str, str], requested: bool
) -> None:
    assert tracing.tracing_requested(environ) is requested
    assert (tracing.provider_from_env(environ) is not None) is requested


def test_an_unknown_exporter_is_one_clear_line() -> None:
    with pytest.raises(SettingsError) as refused:
        tracing.provider_from_env({"OTEL_TRACES_EXPORTER": "jaeger"})
    assert str(refused.value) == (
        "OTEL_TRACES_EXPORTER must be otlp, console or none, got 'jaeger'"
    )


def test_the_service_name_defaults_and_follows_otel_service_name() -> None:
    default = tracing.provider_from_env({"OTEL_TRACES_EXPORTER": "console"})
    named = tracing.provider_from_env(
        {"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "analytics-eu"}
    )
    assert default is not None and named is not None
    assert default.resource.attributes["service.name"] == "flowpilot-analytics"
    assert named.resource.attributes["service.name"] == "analytics-eu"
    default.shutdown()
    named.shutdown()


@pytest.mark.parametrize(
    ("environ", "line"),
    [
        (
            {"OTEL_TRACES_EXPORTER": "jaeger"},
            "error: OTEL_TRACES_EXPORTER must be otlp, console or none, got 'jaeger'",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "error: OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf, got 'grpc'",
        ),
    ],
)
def test_serve_refuses_an_exporter_it_does_not_ship_in_one_line(
    database_url: str, environ: dict[str, str], line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)  # the subprocess's environment starts from ours
    port = str(free_port())
    result = run("serve", "--port", port, DATABASE_URL=database_url, AUTH_JWT_SECRET=SECRET)
    assert assert_one_line_failure(result) == line
