"""The async engine and session factory, built from one database URL."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


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

    `pool_timeout_s` bounds the wait for a free connection and `connect_timeout_s` the
    wait for a new one, so an outage fails requests fast instead of queueing them.
    Connections return to the pool rolled back (a statement cancelled by
    statement_timeout leaves an aborted transaction that the reset ends).
    """
    server_settings = {"application_name": application_name}
    if statement_timeout_ms:
        server_settings["statement_timeout"] = str(statement_timeout_ms)
    return create_async_engine(
        async_url(raw_url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_timeout=pool_timeout_s,
        pool_reset_on_return="rollback",
        connect_args={"server_settings": server_settings, "timeout": connect_timeout_s},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (results are read after it)."""
    return async_sessionmaker(engine, expire_on_commit=False)
