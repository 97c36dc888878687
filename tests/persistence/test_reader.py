"""Snapshot reads through the driver: the SQL sent, who is told, and the connection after.

A snapshot runs its transaction and statements with asyncpg on a connection of the
engine's pool, so what SQLAlchemy used to guarantee is checked here: the listeners of the
engine see every statement, and a connection goes back to the pool outside any
transaction and binding, or is thrown away when its state is unknown.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from persistence.engine import asyncpg_dsn, create_sessionmaker
from persistence.reader import Reader, compiled, driver_of
from persistence.snapshot import ReadSnapshot
from persistence.tenancy import account_transaction
from service.cli.database import database

_BACKEND = "SELECT pg_backend_pid() AS pid, pg_current_xact_id_if_assigned() AS xact"


def test_named_parameters_are_numbered_in_order_of_first_use() -> None:
    sql, names = compiled("SELECT :b, :a, :b, CAST(:c AS int[])")
    assert sql == "SELECT $1, $2, $1, CAST($3 AS int[])"
    assert names == ("b", "a", "c")


@pytest.fixture
async def one_connection(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine whose pool holds a single connection, so every checkout gets it back."""
    async with database(database_url) as engine:
        yield engine


async def _state_after(engine: AsyncEngine) -> dict[str, Any]:
    """The pooled connection as the next checkout finds it."""
    async with engine.connect() as connection:
        driver = await driver_of(connection)
        row = await driver.fetchrow(
            "SELECT pg_backend_pid() AS pid,"
            " current_setting('transaction_isolation') AS isolation,"
            " coalesce(current_setting('app.current_account_id', true), '') AS account"
        )
        return {"in_transaction": driver.is_in_transaction(), **dict(row)}


async def _slow_read_under_way(engine: AsyncEngine) -> tuple[ReadSnapshot, asyncio.Task[Any]]:
    """A snapshot with a five-second statement running on its connection."""
    snapshot = ReadSnapshot(create_sessionmaker(engine), uuid.uuid4())
    started = asyncio.Event()

    async def slow(reader: Reader) -> Any:
        started.set()
        return await reader.rows("SELECT pg_sleep(5)", {})

    task = asyncio.create_task(snapshot.read(slow))
    await started.wait()
    await asyncio.sleep(0.05)  # the statement is at the server
    return snapshot, task


async def test_listeners_of_the_engine_see_each_statement_with_its_arguments(
    one_connection: AsyncEngine,
) -> None:
    seen: list[tuple[str, list[Any]]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, list(parameters)))

    event.listen(one_connection.sync_engine, "before_cursor_execute", record)
    snapshot = ReadSnapshot(create_sessionmaker(one_connection), uuid.uuid4())
    try:
        rows = await snapshot.read(lambda reader: reader.rows("SELECT :n + 1 AS m", {"n": 41}))
    finally:
        await snapshot.close()
        event.remove(one_connection.sync_engine, "before_cursor_execute", record)
    assert [row["m"] for row in rows] == [42]
    # The binding statement first (it opens every snapshot), then the read.
    assert [statement for statement, _ in seen][1:] == ["SELECT $1 + 1 AS m"]
    assert seen[1][1] == [41]
    assert "flowpilot_data_state($1)" in seen[0][0]


async def test_a_finished_snapshot_leaves_no_transaction_or_binding_behind(
    one_connection: AsyncEngine,
) -> None:
    account = uuid.uuid4()
    snapshot = ReadSnapshot(create_sessionmaker(one_connection), account)
    inside = await snapshot.read(
        lambda reader: reader.row(
            "SELECT current_setting('transaction_isolation') AS isolation,"
            " current_setting('transaction_read_only') AS read_only,"
            " current_setting('app.current_account_id', true) AS account",
            {},
        )
    )
    await snapshot.close()
    assert inside is not None
    assert (inside["isolation"], inside["read_only"]) == ("repeatable read", "on")
    assert inside["account"] == str(account)
    after = await _state_after(one_connection)
    assert after["in_transaction"] is False
    assert (after["isolation"], after["account"]) == ("read committed", "")


async def test_a_failed_read_is_rolled_back_and_its_connection_kept(
    one_connection: AsyncEngine,
) -> None:
    before = await _state_after(one_connection)
    snapshot = ReadSnapshot(create_sessionmaker(one_connection), uuid.uuid4())
    with pytest.raises(Exception, match="division by zero"):
        await snapshot.read(lambda reader: reader.rows("SELECT 1 / 0", {}))
    # Later reads of the request fail the same way: the transaction is aborted.
    with pytest.raises(Exception, match="division by zero"):
        await snapshot.read(lambda reader: reader.rows("SELECT 1", {}))
    await snapshot.close()
    after = await _state_after(one_connection)
    assert after["in_transaction"] is False
    assert after["pid"] == before["pid"]


async def test_a_read_cancelled_mid_statement_throws_its_connection_away(
    one_connection: AsyncEngine,
) -> None:
    before = await _state_after(one_connection)
    snapshot, task = await _slow_read_under_way(one_connection)
    await snapshot.close()  # as the request timeout does: cancels the read, then ends
    assert task.cancelled()
    after = await _state_after(one_connection)
    assert after["in_transaction"] is False
    assert after["pid"] != before["pid"]


async def test_a_reader_refuses_a_connection_outside_a_transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """SQLAlchemy begins lazily: until a statement is sent, nothing is open to read in."""
    async with sessionmaker() as session, session.begin():
        with pytest.raises(RuntimeError, match="transaction to be open"):
            await Reader.in_session(session)


async def test_a_reader_reads_inside_a_sessions_transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with account_transaction(sessionmaker, uuid.uuid4()) as session:
        reader = await Reader.in_session(session)
        first = await reader.row(_BACKEND, {})
        await session.execute(text("SELECT txid_current()"))  # a write-side id, assigned
        second = await reader.row(_BACKEND, {})
    assert first is not None and second is not None
    assert first["pid"] == second["pid"]
    # The same transaction: the id SQLAlchemy's statement assigned is the reader's.
    assert first["xact"] is None and second["xact"] is not None


async def test_a_close_cancelled_midway_still_ends_the_snapshot(
    one_connection: AsyncEngine,
) -> None:
    """The request deadline may cancel `close` while it waits for a read to stop: the
    ending goes on, and the next `close` (the view's, in its `finally`) waits for it."""
    before = await _state_after(one_connection)
    snapshot, read = await _slow_read_under_way(one_connection)
    closing = asyncio.create_task(snapshot.close())
    await asyncio.sleep(0)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    await snapshot.close()
    assert read.cancelled()
    after = await _state_after(one_connection)
    assert after["in_transaction"] is False
    assert after["pid"] != before["pid"]  # cancelled mid-statement: thrown away


async def test_a_lost_connection_renews_the_pool(
    one_connection: AsyncEngine, database_url: str
) -> None:
    """As SQLAlchemy does on a disconnect: the pool's other connections may be as dead."""
    pool = one_connection.sync_engine.pool
    snapshot = ReadSnapshot(create_sessionmaker(one_connection), uuid.uuid4())
    first = await snapshot.read(lambda reader: reader.row(_BACKEND, {}))
    assert first is not None
    other = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        # With a timeout, PostgreSQL answers once the backend has exited.
        assert await other.fetchval("SELECT pg_terminate_backend($1, 5000)", first["pid"])
    finally:
        await other.close()
    await asyncio.sleep(0.1)  # the server's goodbye, then the socket's close, reach asyncpg
    with pytest.raises((asyncpg.PostgresConnectionError, asyncpg.InterfaceError)):
        await snapshot.read(lambda reader: reader.rows("SELECT 1", {}))
    await snapshot.close()
    assert one_connection.sync_engine.pool is not pool
    after = await _state_after(one_connection)
    assert after["pid"] != first["pid"] and after["in_transaction"] is False


_MODE = "SELECT current_setting('plan_cache_mode') AS mode"
_PROBE = "SELECT count(*) AS n FROM pg_class WHERE relpages >= :pages"
_PLANS = (
    "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
    " WHERE statement = $1 AND NOT from_sql"
)


async def test_custom_plans_plan_each_run_for_its_values_then_the_mode_before_returns(
    one_connection: AsyncEngine,
) -> None:
    """Outside the block a prepared statement runs its one generic plan (the session's
    mode here, so the count does not wait for PostgreSQL's fifth run); inside, each run
    is planned for its values; afterwards the session's mode is back, also after a block
    that raised once the transaction is over."""
    async with one_connection.connect() as connection:
        driver = await driver_of(connection)
        await driver.execute("SET plan_cache_mode = force_generic_plan")
        async with driver.transaction():
            reader = await Reader.on(connection)
            for pages in (0, 1, 2):
                await reader.rows(_PROBE, {"pages": pages})
            async with reader.custom_plans():
                assert (await reader.row(_MODE, {}) or {})["mode"] == "force_custom_plan"
                for pages in (3, 4):
                    await reader.rows(_PROBE, {"pages": pages})
            assert (await reader.row(_MODE, {}) or {})["mode"] == "force_generic_plan"
            plans = await driver.fetchrow(_PLANS, compiled(_PROBE)[0])
            assert dict(plans or {}) == {"generic_plans": 3, "custom_plans": 2}
        with pytest.raises(ZeroDivisionError):
            async with driver.transaction():
                reader = await Reader.on(connection)
                async with reader.custom_plans():
                    raise ZeroDivisionError
        assert await driver.fetchval(_MODE) == "force_generic_plan"
