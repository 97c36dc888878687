"""How the service connects to its database: one set of settings for every way in.

The request path reaches PostgreSQL three ways: SQLAlchemy's pool (writes, and the
connections the read snapshot drives with asyncpg directly) and the response cache's
small asyncpg pool for its lookups. All three connect as the engine does: the same URL
(with its query's connect arguments), application name, connect timeout and pooler
options. `create_engine` records the settings it was made with, and every other way in
asks the engine for them (`connection_settings`), so no second copy can drift.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings

APPLICATION_NAME = "flowpilot-analytics"


@dataclass(frozen=True)
class ConnectionSettings:
    """Pool size and waits, the statement timeout (each transaction sets its own), the
    connect timeout, the pooler in front (DATABASE_POOLER) and the application name."""

    pool_size: int = 10
    max_overflow: int = 5
    statement_timeout_ms: int | None = None
    pool_timeout_s: float = 30.0
    connect_timeout_s: float = 10.0
    pooler: str = "none"
    application_name: str = APPLICATION_NAME

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionSettings:
        """The service's (DB_POOL_SIZE, DB_MAX_OVERFLOW, DB_STATEMENT_TIMEOUT_MS,
        DB_POOL_TIMEOUT_S, DB_CONNECT_TIMEOUT_S, DATABASE_POOLER)."""
        return cls(
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            statement_timeout_ms=settings.statement_timeout_ms,
            pool_timeout_s=settings.pool_timeout_s,
            connect_timeout_s=settings.connect_timeout_s,
            pooler=settings.database_pooler,
        )

    def driver_options(self) -> dict[str, Any]:
        """asyncpg.connect's options for how the database is reached.

        `pgbouncer`: a transaction-pooling PgBouncer that keeps no prepared statements (any
        version without `max_prepared_statements`). asyncpg's statement cache is off, so
        each statement is an unnamed one that is parsed again in the same message batch as
        its execution: it never names a statement that another server connection holds
        (the cache's `__asyncpg_stmt_1__` would already exist there, or be missing).
        """
        return {"statement_cache_size": 0} if self.pooler == "pgbouncer" else {}

    def connect_args(self) -> dict[str, Any]:
        """What every connection is opened with besides the URL's own arguments:
        application_name is a startup parameter PgBouncer accepts (and keeps per client);
        the statement timeout is not one (each transaction sets it)."""
        return {
            "server_settings": {"application_name": self.application_name},
            "timeout": self.connect_timeout_s,
            **self.driver_options(),
        }


_RECORDED: weakref.WeakKeyDictionary[Engine, ConnectionSettings] = weakref.WeakKeyDictionary()


def record(engine: AsyncEngine, settings: ConnectionSettings) -> None:
    """Remember the settings `engine` was made with (persistence.engine.create_engine)."""
    _RECORDED[engine.sync_engine] = settings


def connection_settings(engine: AsyncEngine) -> ConnectionSettings:
    """The settings `engine` was made with (the defaults for an engine made elsewhere)."""
    return _RECORDED.get(engine.sync_engine) or ConnectionSettings()
