"""The async engine and session factory, built from one database URL."""

from __future__ import annotations

from typing import Any

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


def create_engine(
    raw_url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 5,
    statement_timeout_ms: int | None = None,
    application_name: str = "flowpilot-analytics",
    pool_timeout_s: float = 30.0,
    connect_timeout_s: float = 10.0,
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
    statement_timeout leaves an aborted transaction that the reset ends).
    """
    server_settings = {"application_name": application_name}
    if statement_timeout_ms:
        server_settings["statement_timeout"] = str(statement_timeout_ms)
    engine = create_async_engine(
        async_url(raw_url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
        pool_recycle=1800,
        pool_timeout=pool_timeout_s,
        pool_reset_on_return="rollback",
        hide_parameters=True,  # an error's text (and so a logged traceback) has no values
        connect_args={"server_settings": server_settings, "timeout": connect_timeout_s},
    )
    event.listen(engine.sync_engine, "checkout", closed_connections_are_replaced)
    return engine


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
