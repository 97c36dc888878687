"""The async engine and session factory, built from one database URL.

Nothing is set per session, so a pooler in transaction mode (PgBouncer) may hand a
server connection to another client between transactions: the statement timeout is set
by each transaction for itself (`TimedConnection`), and behind a pooler that keeps no
prepared statements asyncpg's statement cache is off (`driver_options`).
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from functools import lru_cache
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from persistence.connection import ConnectionSettings, record
from persistence.reader import UNNAMED_STATEMENTS


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message says why."""


def async_url(raw: str) -> URL:
    """Accept `postgresql://` (and `postgres://`) as well as `postgresql+asyncpg://`."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise DatabaseUrlError(
            "DATABASE_URL is not a URL; expected postgresql://user@host:5432/dbname"
        ) from None
    if url.get_backend_name() not in {"postgresql", "postgres"}:
        raise DatabaseUrlError(
            f"DATABASE_URL must point at PostgreSQL, not {url.get_backend_name()!r}"
        )
    return url.set(drivername="postgresql+asyncpg")


def asyncpg_dsn(raw: str) -> str:
    """The same URL in the plain form asyncpg itself accepts (for COPY and benchmarks)."""
    return async_url(raw).set(drivername="postgresql").render_as_string(hide_password=False)


class TimedConnection(asyncpg.Connection):  # type: ignore[misc]  # untyped upstream
    """An asyncpg connection whose every transaction sets its own statement timeout.

    asyncpg's `Transaction` sends its BEGIN through `execute` as a simple query; the
    `SET LOCAL` rides in the same query, so it costs no round trip and ends with the
    transaction. A startup parameter would be per session, which PgBouncer refuses
    ("unsupported startup parameter") and a pooled server connection would not keep.
    """

    __slots__ = ()
    statement_timeout_ms = 0  # set by timed_connection_class

    def execute(self, query: str, *args: Any, timeout: float | None = None) -> Awaitable[str]:
        # A plain function handing on asyncpg's coroutine, no coroutine of its own: over a
        # startup parameter a transaction costs 15 us more here, 27 us as an `async def`.
        if not args and query.startswith("BEGIN"):
            query = f"{query} SET LOCAL statement_timeout = {self.statement_timeout_ms};"
        status: Awaitable[str] = super().execute(query, *args, timeout=timeout)
        return status


@lru_cache(maxsize=8)
def timed_connection_class(statement_timeout_ms: int) -> type[TimedConnection]:
    """The connection class whose transactions time out after `statement_timeout_ms`."""
    name = f"TimedConnection{statement_timeout_ms}"
    return type(
        name, (TimedConnection,), {"__slots__": (), "statement_timeout_ms": statement_timeout_ms}
    )


def driver_options(pooler: str = "none") -> dict[str, Any]:
    """asyncpg.connect's options for how the database is reached (DATABASE_POOLER)."""
    return ConnectionSettings(pooler=pooler).driver_options()


def create_engine(
    raw_url: str,
    connection: ConnectionSettings | None = None,
    **overrides: Any,
) -> AsyncEngine:
    """An engine whose pooled connections are checked on checkout (survives DB restarts).

    The check is local (`closed_connections_are_replaced`): a restarted or stopped server
    closes its sockets, which asyncpg notices while the connection idles in the pool, so
    no round trip is spent per checkout (SQLAlchemy's pre-ping cost ~1.7 ms on each of a
    request's several batches here). A connection cut without the socket noticing fails
    its statement; the pool is then renewed (by SQLAlchemy for the statements it sends, by
    the read snapshot for its own) and the next checkouts reconnect.

    `pool_timeout_s` bounds the wait for a free connection and `connect_timeout_s` the
    wait for a new one, so an outage fails requests fast instead of queueing them.
    Connections return to the pool rolled back (a statement cancelled by
    statement_timeout leaves an aborted transaction that the reset ends). The timeout
    binds every transaction (`TimedConnection`); statements outside one (none of the
    engine's own) have none.

    `connection` (persistence.connection; its defaults when None, with `overrides` for
    single fields, e.g. `pool_size=1`) is recorded on the engine: the snapshot and the
    response cache's lookup pool connect as it says.
    """
    settings = replace(connection or ConnectionSettings(), **overrides)
    connect_args = settings.connect_args()
    if settings.statement_timeout_ms:
        connect_args["connection_class"] = timed_connection_class(settings.statement_timeout_ms)
    engine = create_async_engine(
        async_url(raw_url),
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_pre_ping=False,
        pool_recycle=1800,
        pool_timeout=settings.pool_timeout_s,
        pool_reset_on_return="rollback",
        hide_parameters=True,  # an error's text (and so a logged traceback) has no values
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "checkout", closed_connections_are_replaced)
    record(engine, settings)
    if settings.pooler == "pgbouncer":
        event.listen(engine.sync_engine, "connect", unnamed_statements_are_kept)
    return engine


def unnamed_statements_are_kept(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    """Behind a pooler, the read snapshot reuses unnamed statements per connection
    (persistence.reader); their set lives and ends with the connection."""
    record.info[UNNAMED_STATEMENTS] = {}


def closed_connections_are_replaced(
    dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
) -> None:
    """Refuse a pooled connection whose socket is already closed; the pool then discards
    it and checks out (or opens) another."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the pooled connection was closed by the server")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (results are read after it)."""
    return async_sessionmaker(engine, expire_on_commit=False)
