"""The account's data state: version, database epoch and local date.

`read_state` takes it from the request's REPEATABLE READ snapshot (its binding statement
read it, as the snapshot's first statement), so an entry is tagged with exactly the state
it was computed from.
`StateReader.current` reads the latest committed state in one round trip outside any
transaction, for a lookup: an entry tagged with that version was computed from the very
data a fresh execution would read now. Both read the database the tabs read (on a
replica, the standby's own state), so an entry is never ahead of or behind it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from core.metrics.window import local_today
from persistence.connection import connection_settings
from persistence.snapshot import ReadSnapshot
from service.response_cache.key import DataState


async def read_state(snapshot: ReadSnapshot, now: datetime) -> DataState | None:
    """None when the account does not exist (nothing to cache). No statement of its own:
    the snapshot's binding read the state, as its first statement."""
    state = await snapshot.account_state()
    if state is None:
        return None
    return DataState(state.epoch, state.version, local_today(now, state.timezone))


_CURRENT = "SELECT version, epoch, timezone FROM flowpilot_data_state($1)"
# A lookup holds a connection for one statement: a few serve a worker's hits at any rate
# (ANALYTICS_CACHE_LOOKUP_CONNECTIONS).
LOOKUP_CONNECTIONS = 4


# After the pool fails to open or to hand out a connection, lookups skip the database for
# this long (the requests go on uncached) rather than each paying a failed connect.
RETRY_AFTER_S = 2.0


class ReaderDown(Exception):
    """The database did not answer the reader lately: not tried again yet."""


# What SQLAlchemy's asyncpg adapter takes for itself from the URL's query or connect_args
# before it calls asyncpg.connect (sqlalchemy.dialects.postgresql.asyncpg, `connect`).
_ADAPTER_OPTIONS = frozenset(
    {"async_creator_fn", "prepared_statement_cache_size", "prepared_statement_name_func"}
)


def connect_kwargs(engine: AsyncEngine) -> dict[str, Any]:
    """asyncpg.connect's arguments for the engine's database, as the engine builds them.

    The URL's query parameters are keyword arguments (`?ssl=require`, `?direct_tls=true`),
    as SQLAlchemy passes them, not a DSN's query: in a DSN asyncpg sends what it does not
    know to the server as settings, which the server refuses. The server settings and the
    connect timeout are given separately, as the engine's connect_args give them.
    """
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    if args:  # the asyncpg dialect passes everything by keyword
        raise ValueError("unexpected positional connect arguments")
    return {key: value for key, value in kwargs.items() if key not in _ADAPTER_OPTIONS}


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to reset between lookups: one autocommit SELECT changes no session state
    (asyncpg's default reset would cost a round trip per lookup)."""


class StateReader:
    """The lookup's read on a small asyncpg pool of its own, for the engine's database.

    A hit's one statement is most of what it does: through a SQLAlchemy connection it
    cost a pool checkout, compilation and result machinery on greenlets, several times
    the statement itself. Here it is a prepared statement (asyncpg's statement cache;
    an unnamed one behind PgBouncer) on a plain connection, outside any transaction
    (autocommit: no BEGIN, no COMMIT, so no statement_timeout: its own timeout cancels
    it), as the same role on the same database as the engine, so it reads exactly what
    the engine's sessions would. The pool opens on the first lookup, in the serving loop.
    """

    def __init__(self, engine: AsyncEngine, max_connections: int = LOOKUP_CONNECTIONS) -> None:
        # The engine's own connection settings (persistence.connection): its application
        # name, connect timeout and pooler options, which win over the URL's query as the
        # engine's connect_args do. The statement timeout is not one of them: a lookup
        # runs outside any transaction, and its own timeout cancels it.
        connection = connection_settings(engine)
        self._connect_kwargs = {**connect_kwargs(engine), **connection.connect_args()}
        # A lookup never waits longer than a connection may take to open: past that, the
        # request goes on uncached (`version_unreadable`) and meets the trouble itself.
        self._timeout_s = max(connection.connect_timeout_s, 1.0)
        self._max_connections = max_connections
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Task[asyncpg.Pool] | None = None
        self._down_until = 0.0

    async def _open(self) -> asyncpg.Pool:
        if self._opening is None:
            self._opening = asyncio.ensure_future(
                asyncpg.create_pool(
                    **self._connect_kwargs,
                    min_size=1,
                    max_size=self._max_connections,
                    reset=_keep_session,
                )
            )
        try:
            pool = await asyncio.shield(self._opening)
        except Exception:
            self._opening = None  # the next lookup tries again
            raise
        self._pool = pool
        return pool

    async def current(self, account_id: uuid.UUID, now: datetime) -> DataState | None:
        """The latest committed state; None: no such account. Raises ReaderDown for
        `RETRY_AFTER_S` after the pool could not open or hand out a connection."""
        if self._down_until and time.monotonic() < self._down_until:
            raise ReaderDown
        try:
            pool = self._pool or await self._open()
            connection = await pool.acquire(timeout=self._timeout_s)
        except Exception:
            self._down_until = time.monotonic() + RETRY_AFTER_S
            raise
        self._down_until = 0.0
        try:
            row: Any = await connection.fetchrow(_CURRENT, account_id, timeout=self._timeout_s)
        finally:
            await pool.release(connection)
        if row is None:
            return None
        version, epoch, timezone = row
        return DataState(str(epoch), int(version), local_today(now, timezone))

    async def close(self) -> None:
        opening, self._opening, self._pool = self._opening, None, None
        if opening is None:
            return
        try:
            pool = await opening
        except Exception:
            return
        await pool.close()
