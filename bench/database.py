"""The benchmark's own databases: one per scale on the configured server, never the test DB."""

from __future__ import annotations

import os

import asyncpg
from sqlalchemy.engine import make_url

from persistence.engine import asyncpg_dsn, create_engine
from persistence.migrate import upgrade_engine

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER


def bench_database_url(scale: str, url: str | None = None) -> str:
    """`url` as given, else `flowpilot_bench_<scale>` on DATABASE_URL's (or the test) server."""
    if url:
        return url
    name = f"flowpilot_bench_{scale.lower()}"
    return make_url(server_url()).set(database=name).render_as_string(hide_password=False)


def _admin_dsn(url: str) -> str:
    return asyncpg_dsn(make_url(url).set(database="postgres").render_as_string(hide_password=False))


async def recreate_database(url: str) -> None:
    """Drop and create the database named in `url` (only ever a benchmark database)."""
    name = make_url(url).database
    admin = await asyncpg.connect(_admin_dsn(url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def database_exists(url: str) -> bool:
    admin = await asyncpg.connect(_admin_dsn(url))
    try:
        found = await admin.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", make_url(url).database
        )
    finally:
        await admin.close()
    return found is not None


async def migrate(url: str) -> None:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        await upgrade_engine(engine)
    finally:
        await engine.dispose()
