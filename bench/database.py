"""The benchmark's own databases: one per scale on the configured server, never the test DB.

`generate` drops a database only when the benchmark created it: it marks each database it
creates with a comment (`MARK`) and refuses to drop one without it, whatever its name.
"""

from __future__ import annotations

import os

import asyncpg
from sqlalchemy.engine import make_url

from persistence.engine import asyncpg_dsn, create_engine
from persistence.operations.migrate import upgrade_engine

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
MARK = "flowpilot-bench: created by python -m bench generate"
CONNECT_TIMEOUT_S = 10.0


class BenchError(RuntimeError):
    """The benchmark cannot go on; the message is one line that says why."""


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


def _where(url: str) -> str:
    parsed = make_url(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


async def _connect_admin(url: str) -> asyncpg.Connection:
    """A connection to the server's `postgres` database; one-line BenchError when it fails."""
    try:
        return await asyncpg.connect(_admin_dsn(url), timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BenchError(f"cannot connect to PostgreSQL at {_where(url)}: {reason}") from None


async def recreate_database(url: str) -> None:
    """Create the database named in `url`, marked as the benchmark's; drop it first only
    when it exists with that mark (a database the benchmark did not create is refused)."""
    name = make_url(url).database
    admin = await _connect_admin(url)
    try:
        row = await admin.fetchrow(
            "SELECT shobj_description(oid, 'pg_database') AS mark FROM pg_database"
            " WHERE datname = $1",
            name,
        )
        if row is not None and row["mark"] != MARK:
            raise BenchError(
                f"database {name} on {_where(url)} was not created by the benchmark; "
                "drop it yourself or name another with --database-url"
            )
        if row is not None:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{MARK}'")
    finally:
        await admin.close()


async def database_exists(url: str) -> bool:
    admin = await _connect_admin(url)
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
