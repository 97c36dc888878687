"""Analytics statements sent straight through the driver, on SQLAlchemy's connection.

A tab's reads are a few text statements returning up to thousands of rows. Through
SQLAlchemy's session each one also pays its result layer and greenlet bridge, about three
times asyncpg's own CPU per statement and per row, and opening and committing the session
costs twice a driver transaction: together a quarter of a median account's request
(docs/cpu-per-request.md). So the request's snapshot compiles each statement
once with SQLAlchemy's asyncpg dialect (the same SQL, casts and `$n` numbering SQLAlchemy
would send) and runs it with asyncpg on the connection SQLAlchemy's pool checked out, in the
transaction already open on it. The engine's `before_cursor_execute` listeners still see
every statement (the request log's count, the statement-count tests, the benchmark's
EXPLAIN), called here as SQLAlchemy calls them.

Statements are plain SQL with `:name` parameters and no typed bind parameters (casts are
written in the SQL), so no bind processing is skipped.

Behind a pooler that keeps no prepared statements (DATABASE_POOLER=pgbouncer) asyncpg's
statement cache is off, and its `fetch` would describe each statement in a round trip of
its own before executing it. The reader instead prepares each statement once per
connection as an unnamed one, which asyncpg parses again in the same round trip as every
execution: any server connection can run it, at one round trip per statement.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

# The key, in a pooled connection's `info`, of its reusable unnamed statements (statement
# text: asyncpg's prepared statement); set only behind a pooler (persistence.engine).
UNNAMED_STATEMENTS = "flowpilot_unnamed_statements"
# More distinct statements than the application sends start the connection's set afresh.
MAX_UNNAMED_STATEMENTS = 512

# Plan each statement for its own values until the block ends; the mode before it, to go back.
_CUSTOM_PLANS = (
    "SELECT b.before, set_config('plan_cache_mode', 'force_custom_plan', true) AS now"
    " FROM (SELECT current_setting('plan_cache_mode') AS before OFFSET 0) b"
)
_PLAN_MODE = "SELECT set_config('plan_cache_mode', :mode, true) AS now"

_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]  # unannotated upstream


@lru_cache(maxsize=512)
def compiled(sql: str) -> tuple[str, tuple[str, ...]]:
    """`sql` as asyncpg takes it, and the parameter names in `$n` order."""
    statement = text(sql).compile(dialect=_DIALECT)
    return statement.string, tuple(statement.positiontup or ())


async def driver_of(connection: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under SQLAlchemy's."""
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    return driver


class Reader:
    """Runs read statements on one checked-out connection, inside its open transaction."""

    def __init__(self, connection: AsyncConnection, driver: asyncpg.Connection) -> None:
        self._events = connection.sync_connection
        self._driver = driver
        self._unnamed: dict[str, Any] | None = connection.info.get(UNNAMED_STATEMENTS)

    @classmethod
    async def on(cls, connection: AsyncConnection) -> Reader:
        """A reader on `connection`, whose transaction must already be open: SQLAlchemy
        sends BEGIN only with its first statement, and a read outside any transaction
        would see a different state at each statement."""
        driver = await driver_of(connection)
        if not driver.is_in_transaction():
            raise RuntimeError("a reader needs its connection's transaction to be open")
        return cls(connection, driver)

    @classmethod
    async def in_session(cls, session: AsyncSession) -> Reader:
        """A reader on the connection of `session`'s transaction, once it has begun."""
        return await cls.on(await session.connection())

    @property
    def driver(self) -> asyncpg.Connection:
        return self._driver

    async def rows(self, sql: str, params: Mapping[str, Any]) -> list[asyncpg.Record]:
        """Every row of `sql` with `params` bound by name."""
        statement, names = compiled(sql)
        args = [params[name] for name in names]
        self._announce(statement, args)
        if self._unnamed is None:
            rows: list[asyncpg.Record] = await self._driver.fetch(statement, *args)
            return rows
        prepared = self._unnamed.get(statement) or await self._prepare(statement)
        unnamed_rows: list[asyncpg.Record] = await prepared.fetch(*args)
        return unnamed_rows

    async def _prepare(self, statement: str) -> Any:
        """`statement` as an unnamed prepared statement of this connection, kept for reuse
        (asyncpg without a statement cache names none, and parses it at each execution)."""
        assert self._unnamed is not None
        if len(self._unnamed) >= MAX_UNNAMED_STATEMENTS:
            self._unnamed.clear()
        prepared = await self._driver.prepare(statement)
        self._unnamed[statement] = prepared
        return prepared

    @asynccontextmanager
    async def custom_plans(self) -> AsyncIterator[None]:
        """Every statement inside is planned for its own parameter values.

        After five runs of a prepared statement PostgreSQL may keep one plan for any
        values, costed for an average account; where one account holds a third of the
        sessions such a plan reads all of that account's rows of a filter (and every one
        of its flows) to return a page of them. Planning each run costs a fraction of a
        millisecond per statement. The mode is the transaction's own (as SET LOCAL) and
        is put back when the block ends without an error; after an error the
        transaction is over or about to be, and the mode goes with it.
        """
        (row,) = await self.rows(_CUSTOM_PLANS, {})
        yield
        await self.rows(_PLAN_MODE, {"mode": row["before"]})

    async def row(self, sql: str, params: Mapping[str, Any]) -> asyncpg.Record | None:
        """The first row of `sql` (None when there is none)."""
        rows = await self.rows(sql, params)
        return rows[0] if rows else None

    def _announce(self, statement: str, args: Sequence[Any]) -> None:
        connection: Connection | None = self._events
        if connection is None:
            return
        for listener in connection.dispatch.before_cursor_execute:
            listener(connection, None, statement, args, None, False)
