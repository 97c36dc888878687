"""Which database a CLI command works on, and one-line messages for why it is unreachable.

With DATABASE_URL set, that database (as the role it names). Without it, the embedded
PostgreSQL in the data folder, database `flowpilot`, as its superuser.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import default_data_dir, env_setting
from persistence.engine import async_url, asyncpg_dsn, create_engine, driver_options
from persistence.operations.backfill import pending_accounts
from persistence.operations.migrate import current_revision, head_revision
from service.cli.name import command
from service.runtime.embedded import embedded_server_url

EMBEDDED_DATABASE = "flowpilot"
_CONNECT_TIMEOUT_S = 10


class CliError(Exception):
    """A command cannot go on; the message is one actionable line, `code` the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Target:
    """The database of a command: an owner or superuser URL."""

    url: str
    embedded: bool
    data_dir: Path | None = None


def pooler() -> str:
    """DATABASE_POOLER: `pgbouncer` when DATABASE_URL reaches PostgreSQL through one."""
    value: str = env_setting("database_pooler") or "none"
    return value


def data_dir() -> Path:
    folder: Path = env_setting("data_dir") or default_data_dir()
    return folder


def with_user(url: str, user: str, password: str | None) -> str:
    """The same database URL with another role (the application role)."""
    return make_url(url).set(username=user, password=password).render_as_string(hide_password=False)


def location(url: str) -> str:
    """host:port (or the socket folder) of a URL, for messages."""
    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or "localhost"
    if isinstance(host, tuple):
        host = host[0]
    if str(host).startswith("/"):
        return f"{host} (socket)"
    return f"{host}:{parsed.port or 5432}"


def _reason(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused (is the server running and listening there?)"
    if isinstance(error, socket.gaierror):
        return "unknown host name"
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return f"no answer within {_CONNECT_TIMEOUT_S}s"
    if isinstance(error, FileNotFoundError):
        return "no server socket there"
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


async def connect(url: str, database: str | None = None) -> asyncpg.Connection:
    """An asyncpg connection, or a CliError naming the server and the reason."""
    raw = (
        url
        if database is None
        else make_url(url).set(database=database).render_as_string(hide_password=False)
    )
    try:
        connection: asyncpg.Connection = await asyncpg.connect(
            asyncpg_dsn(raw), timeout=_CONNECT_TIMEOUT_S, **driver_options(pooler())
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise CliError(
            f"cannot connect to PostgreSQL at {location(raw)}: {_reason(error)}"
        ) from None
    return connection


async def probe(url: str) -> bool:
    """Fail early and clearly when the database is unreachable; True if RLS binds the role."""
    connection = await connect(url)
    try:
        bypass = await connection.fetchval(
            "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
    finally:
        await connection.close()
    return not bypass


async def ensure_database(server_url: str, name: str) -> None:
    connection = await connect(server_url, "postgres")
    try:
        if await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name) is None:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


@asynccontextmanager
async def database(url: str) -> AsyncIterator[AsyncEngine]:
    """The command's engine, disposed when the command ends: one connection, and a
    second only while a command needs it (a recalculation's lock holder beside its work).
    DATABASE_POOLER says how it reaches the database (persistence.engine.driver_options)."""
    engine = create_engine(url, pool_size=1, max_overflow=1, pooler=pooler())
    try:
        yield engine
    finally:
        await engine.dispose()


async def resolve_target() -> Target:
    """DATABASE_URL, or the embedded server (started now, stopped when the CLI exits)."""
    configured = env_setting("database_url")
    if configured:
        async_url(configured)  # DatabaseUrlError with a clear message
        return Target(configured, embedded=False)
    folder = data_dir()
    server = embedded_server_url(folder, stop_at_exit=True)
    await ensure_database(server, EMBEDDED_DATABASE)
    url = make_url(server).set(database=EMBEDDED_DATABASE).render_as_string(hide_password=False)
    return Target(url, embedded=True, data_dir=folder)


def behind_head_message(current: str | None) -> str:
    return (
        f"database schema is at {current or 'base (empty)'}, expected {head_revision()}: "
        f"run {command('migrate')}"
    )


async def require_head(engine: AsyncEngine) -> None:
    """Refuse to go on unless the schema is at the newest migration and the rollups of an
    adopted database are all built (the analytics would otherwise count too little)."""
    async with engine.connect() as connection:
        current = await current_revision(connection)
        pending = await pending_accounts(connection) if current == head_revision() else 0
    if current != head_revision():
        raise CliError(behind_head_message(current))
    if pending:
        raise CliError(
            f"the rollups of {pending} adopted accounts are not built yet: "
            f"run {command('migrate')} to finish"
        )
