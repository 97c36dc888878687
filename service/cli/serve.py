"""`serve`: the API on a configured database, or the zero-configuration demo.

Without DATABASE_URL the embedded PostgreSQL is started in the data folder, brought
to the newest schema, given the application role and (once) the demo data; the API
then connects as that role, so row-level security binds it as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.config
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth import issue_token
from core.settings import Settings, env_setting
from persistence.engine import async_url
from persistence.operations.demo_seed import (
    DEMO_ACCOUNT_ID,
    DEMO_TEAM_ADMIN_ID,
    DemoSummary,
    seed_demo,
)
from persistence.operations.product_rls import unbound_role
from persistence.operations.roles import DEFAULT_APP_ROLE
from service.cli.commands import create_role
from service.cli.database import (
    CliError,
    Target,
    database,
    probe,
    require_head,
    resolve_target,
    with_user,
)
from service.cli.migrate import migrate_to
from service.cli.name import command
from service.insights.page import insights_page_enabled
from service.observability.log_format import logging_config
from service.observability.tracing import exporter_names
from service.pipeline.pq_manifests import load_manifests
from service.runtime.ports import listen_problem

_APP = "service.app:app_from_env"
logger = logging.getLogger("flowpilot.serve")


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host


async def _check_database() -> bool:
    """DATABASE_URL reachable and at head; True when row-level security binds its role.

    On an adopted product database the policies bind only the analytics' group: a role
    outside it is refused, as it would not be bound to one account.
    """
    target = await resolve_target()
    rls_binds = await probe(target.url)
    async with database(target.url) as engine:
        await require_head(engine)
        if rls_binds:
            await _require_bound(engine, "")
    read_url = env_setting("database_read_url")
    if read_url:
        # The tabs read through this one: its role must be bound to one account as well.
        async_url(read_url)
        if await probe(read_url):
            async with database(read_url) as engine:
                await _require_bound(engine, "DATABASE_READ_URL: ")
        else:
            logger.warning(
                "DATABASE_READ_URL's role is a superuser or has BYPASSRLS, so row-level "
                f"security does not apply; see {command('create-app-role')}"
            )
    return rls_binds


async def _require_bound(engine: AsyncEngine, which: str) -> None:
    """Refuse a role the analytics' policies on an adopted database would not bind."""
    async with engine.connect() as connection:
        problem = await unbound_role(connection)
    if problem is not None:
        raise CliError(which + problem)


async def _prepare_demo() -> tuple[Target, DemoSummary]:
    """The embedded database at head, with the application role and the demo data."""
    target = await resolve_target()
    await probe(target.url)
    async with database(target.url) as engine:
        await migrate_to(engine, "head", embedded=True)
        await create_role(engine, DEFAULT_APP_ROLE, None)
        return target, await seed_demo(engine, 7)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM once uvicorn has drained (it raises the signal again after its shutdown):
    exit 0, as uvicorn's supervisor does with several workers, so a service manager sees
    one status for a clean stop whatever `--workers` is."""
    raise SystemExit(0)


def configure_logging_for_serve(level: str) -> None:
    """JSON lines from here on, in this process (the workers get the same from uvicorn)."""
    logging.config.dictConfig(logging_config(level))
    logging.captureWarnings(True)


@contextmanager
def _shared_metrics(workers: int) -> Iterator[None]:
    """With several workers, a fresh folder for their metrics (prometheus_client's
    multiprocess mode), so any worker's /metrics sums all of them; removed at exit."""
    if workers <= 1:
        yield
        return
    folder = tempfile.mkdtemp(prefix="flowpilot-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder  # the workers inherit it
    try:
        yield
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(folder, ignore_errors=True)


def _worker_count(args: argparse.Namespace) -> int:
    """What uvicorn will start: --workers, else WEB_CONCURRENCY, else one."""
    if args.workers:
        return int(args.workers)
    raw = os.environ.get("WEB_CONCURRENCY", "")
    return int(raw) if raw.isdigit() else 1


def _run_uvicorn(args: argparse.Namespace, log_level: str = "INFO") -> None:
    try:
        import uvicorn
    except ImportError:  # pragma: no cover - a dependency of the package
        raise CliError("uvicorn is not installed: pip install -e .") from None
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again once no event
    # loop runs; exiting normally (status 0) then lets atexit stop the embedded PostgreSQL.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with _shared_metrics(_worker_count(args)):
        _uvicorn_run(uvicorn, args, log_level)


def _uvicorn_run(uvicorn: Any, args: argparse.Namespace, log_level: str) -> None:
    uvicorn.run(
        _APP,
        factory=True,
        host=args.host,
        port=args.port,
        reload=args.reload,
        workers=args.workers,
        # uvloop and httptools (dependencies; the pure-Python loop and parser where absent).
        loop="auto",
        http="auto",
        access_log=False,  # the JSON request line (flowpilot.requests) already logs each one
        log_config=logging_config(log_level),  # uvicorn's lines are JSON lines too
        log_level=log_level.lower(),
    )


def cmd_serve(args: argparse.Namespace) -> int:
    problem = listen_problem(args.host, args.port)
    if problem is not None:
        raise CliError(problem)
    configured = env_setting("database_url")
    if configured:
        async_url(configured)  # DatabaseUrlError with a clear message
        settings = Settings.from_env()  # a bad setting fails here, in one line, not in every worker
        load_manifests(settings.persisted_queries_manifests)  # and so does a bad manifest
        exporter_names(os.environ)  # and a trace exporter this service does not ship
        configure_logging_for_serve(settings.log_level)
        rls_binds = asyncio.run(_check_database())
        if not rls_binds:
            logger.warning(
                "DATABASE_URL's role is a superuser or has BYPASSRLS, so row-level "
                f"security does not apply; see {command('create-app-role')}"
            )
        _run_uvicorn(args, settings.log_level)
        return 0

    if env_setting("jwt_secret"):
        raise CliError(
            "the embedded demo signs its tokens with the demo secret and publishes one on the "
            "GraphiQL page: unset AUTH_JWT_SECRET, or set DATABASE_URL to serve a real database"
        )
    Settings.from_env()  # a bad setting fails here, in one line, before the demo starts
    target, summary = asyncio.run(_prepare_demo())
    # Workers (and the reloader) are new processes: they read these.
    os.environ["DATABASE_URL"] = with_user(target.url, DEFAULT_APP_ROLE, None)
    os.environ["FLOWPILOT_DEMO"] = "1"
    settings = Settings.from_env()
    load_manifests(settings.persisted_queries_manifests)
    token = issue_token(
        settings,
        account_id=DEMO_ACCOUNT_ID,
        role="team_admin",
        user_id=DEMO_TEAM_ADMIN_ID,
    )
    url = f"http://{_display_host(args.host)}:{args.port}/graphql"
    lines = [
        f"embedded PostgreSQL in {target.data_dir}; the API connects as role {DEFAULT_APP_ROLE}",
        summary.describe(),
        f"GraphiQL: {url}",
        "Headers for GraphiQL (demo team admin, valid 12 hours):",
        f'{{"Authorization": "Bearer {token}"}}',
    ]
    if insights_page_enabled(settings):
        lines.insert(2, f"Insights page: {url.removesuffix('graphql')}")
    print("\n".join(lines), flush=True)
    configure_logging_for_serve(settings.log_level)
    _run_uvicorn(args, settings.log_level)
    return 0
