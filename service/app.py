"""The Starlette application: GraphQL at /graphql, health and readiness probes."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.settings import Settings
from persistence.chunk_sizing import ChunkSizing
from persistence.operations.migrate import is_at_head
from persistence.rollups import Pacing
from schema.build import build_schema_for
from service.export.csv_view import CsvExport
from service.http.cors import cors_middleware
from service.http.limits import BodySizeLimit
from service.http.request_id import RequestIdMiddleware
from service.http.static_files import static_file
from service.insights.page import insights_routes
from service.observability.log_format import configure_logging
from service.observability.metrics_endpoint import (
    MetricsEndpoint,
    database_engines,
    multiprocess_dir,
    track_pool,
    worker_exits,
)
from service.observability.requests import (
    LogOperationName,
    ObservabilityMiddleware,
    count_statements,
)
from service.observability.tracing import instrument, operation_extension, provider_from_env
from service.pipeline.error_masking import quiet_known_errors
from service.pipeline.graphql_endpoint import GraphQLEndpoint
from service.pipeline.graphql_view import AnalyticsGraphQL
from service.pipeline.pipeline import Pipeline
from service.pipeline.schema_hooks import ParsedOnce, TagWithDataVersion
from service.runtime.database import Database
from service.runtime.jobs import BackgroundJobs
from service.shared_limits import account_limits
from writes.psa_pushes import PsaPushService

logger = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    """The process is alive (no dependency checked)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers and its schema is at the newest migration."""
    database: Database = request.app.state.database
    try:  # reading the schema revision also proves the database answers
        at_head = await is_at_head(database.primary_engine)
    except Exception as error:  # any failure to reach the database means "not ready"
        logger.warning("readiness check failed: %s", type(error).__name__)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    if not at_head:
        return JSONResponse({"status": "unavailable", "database": "schema not at head"}, 503)
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings, tracer_provider: TracerProvider | None = None) -> Starlette:
    """The service for `settings` (which must name a database), traced through
    `tracer_provider` when one is given (service/observability/tracing.py)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Each resource is closed at shutdown (in reverse order) whatever the others do.
        async with AsyncExitStack() as closing:
            closing.callback(worker_exits)  # runs last: this worker's gauges leave the sum
            app.state.database = Database.connect(settings)
            closing.push_async_callback(app.state.database.dispose)
            # the response cache's Redis client and lookup pools, the JWKS fetch thread
            closing.push_async_callback(pipeline.close)
            closing.push_async_callback(limits.close)  # shared limits: their Redis client
            for name, engine in database_engines(app).items():
                count_statements(engine)
                if multiprocess_dir() is not None:
                    track_pool(name, engine)
            app.state.psa_pushes = PsaPushService(
                app.state.database.primary,
                settings.psa_secret_key,
                connectwise_hosts=settings.psa_connectwise_hosts,
            )
            closing.push_async_callback(app.state.psa_pushes.aclose)
            jobs = BackgroundJobs(
                app.state.database.primary_engine,
                app.state.psa_pushes,
                recalc_interval_s=settings.recalc_interval_s,
                recovery_interval_s=settings.outbox_recovery_interval_s,
                rollup_build_interval_s=settings.rollup_build_interval_s,
                rollup_build_pacing=Pacing(settings.rollup_build_duty_cycle),
                rollup_build_chunks=ChunkSizing.targeting(settings.rollup_build_chunk_target_ms),
            )
            jobs.start()
            closing.push_async_callback(jobs.stop)
            # What startup made (modules, the schema, the pools) lives as long as the
            # process: out of the collector's reach, a full collection no longer walks it
            # (at the largest L account's Coverage, ~90 ms pauses become ~15 ms). Garbage
            # goes first.
            gc.collect()
            gc.freeze()
            yield

    configure_logging(settings.log_level)
    limits = account_limits(settings)  # per process, or shared through Redis
    # ParsedOnce runs the document the pipeline parsed; TagWithDataVersion tags a
    # response-cache miss with the state it was computed from.
    extensions: list[Any] = [LogOperationName, ParsedOnce, TagWithDataVersion]
    middleware = [
        Middleware(RequestIdMiddleware),
        cors_middleware(settings.cors_allowed_origins),
        Middleware(
            ObservabilityMiddleware,
            trace_account=tracer_provider is not None and settings.trace_account_id,
        ),
        Middleware(BodySizeLimit, max_bytes=settings.max_request_bytes),
    ]
    if tracer_provider is not None:
        extensions.append(operation_extension(tracer_provider))
        # outermost: the request's span covers everything, the request id included
        middleware.insert(0, instrument(tracer_provider))
    pipeline = Pipeline(
        build_schema_for(settings, extensions, limits.budget),
        settings,
        budget=limits.budget,
        account_slots=limits.slots,
    )
    graphql = GraphQLEndpoint(
        pipeline,
        AnalyticsGraphQL(
            pipeline.schema,
            settings,
            pipeline.verified_tokens,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=False,
        ),
    )
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/export/{tab}.csv", CsvExport(pipeline).handle, methods=["GET"]),
            Route("/static/{name}", static_file, methods=["GET"]),
            Route(
                "/metrics",
                MetricsEndpoint(lambda: database_engines(app), settings.metrics_token).handle,
            ),
            *insights_routes(settings),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    quiet_known_errors()
    app.state.settings = settings
    return app


def app_from_env() -> Starlette:
    """uvicorn factory: `uvicorn service.app:app_from_env --factory`."""
    return create_app(Settings.from_env(), provider_from_env())
