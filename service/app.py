"""The Starlette application: GraphQL at /graphql, health and readiness probes."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.settings import Settings
from persistence.migrate import is_at_head
from schema.build import build_schema_for
from schema.limits import account_budget
from service.cors import cors_middleware
from service.database import Database
from service.error_masking import quiet_known_errors
from service.export import CsvExport
from service.graphql_view import AnalyticsGraphQL
from service.http_limits import BodySizeLimit
from service.insights.page import insights_routes
from service.jobs import BackgroundJobs
from service.observability import (
    LogOperationName,
    MetricsEndpoint,
    ObservabilityMiddleware,
    count_statements,
    database_engines,
    install_request_log_handler,
)
from service.request_id import RequestIdMiddleware
from service.response_cache.extension import TagWithDataVersion
from service.static_files import static_file
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


def create_app(settings: Settings) -> Starlette:
    """The service for `settings` (which must name a database)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Each resource is closed at shutdown (in reverse order) whatever the others do.
        async with AsyncExitStack() as closing:
            app.state.database = Database.connect(settings)
            closing.push_async_callback(app.state.database.dispose)
            # response cache hook: its Redis client and lookup pools
            closing.push_async_callback(graphql.response_cache.cache.close)
            for engine in database_engines(app).values():
                count_statements(engine)
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

    budget = account_budget(settings)
    graphql = AnalyticsGraphQL(
        # TagWithDataVersion tags a response-cache miss with the state it was computed from.
        build_schema_for(settings, [LogOperationName, TagWithDataVersion], budget),
        settings,
        budget=budget,
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=False,
    )
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/export/{tab}.csv", CsvExport(graphql).handle, methods=["GET"]),
            Route("/static/{name}", static_file, methods=["GET"]),
            Route("/metrics", MetricsEndpoint(lambda: database_engines(app)).handle),
            *insights_routes(settings),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            cors_middleware(settings.cors_allowed_origins),
            Middleware(ObservabilityMiddleware),
            Middleware(BodySizeLimit, max_bytes=settings.max_request_bytes),
        ],
        lifespan=lifespan,
    )
    install_request_log_handler()
    quiet_known_errors()
    app.state.settings = settings
    return app


def app_from_env() -> Starlette:
    """uvicorn factory: `uvicorn service.app:app_from_env --factory`."""
    return create_app(Settings.from_env())
