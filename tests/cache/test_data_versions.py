"""Every write that can change an analytics answer bumps its account's data version in
the writing transaction, and only that account's; reads and other accounts' writes don't.
Run as an unprivileged role with the product's writes, so row-level security binds the
version rows (the triggers write them as their owner)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.tenancy import account_transaction
from tests.factories import AccountBuilder

_VERSION = text(
    "SELECT coalesce((SELECT version FROM account_data_versions WHERE account_id = :a), 0)"
)
NOW = datetime.now(UTC)


async def version(sm: async_sessionmaker[AsyncSession], account_id: uuid.UUID) -> int:
    async with account_transaction(sm, account_id) as session:
        return int((await session.execute(_VERSION, {"a": account_id})).scalar_one())


async def run(sm: async_sessionmaker[AsyncSession], account_id: uuid.UUID, sql: str) -> None:
    async with account_transaction(sm, account_id) as session:
        await session.execute(text(sql), {"a": account_id})


Write = Callable[[async_sessionmaker[AsyncSession], AccountBuilder], Awaitable[object]]


def _sql(sql: str) -> Write:
    async def write(sm: async_sessionmaker[AsyncSession], builder: AccountBuilder) -> None:
        await run(sm, builder.account_id, sql)

    return write


WRITES: dict[str, Write] = {
    "session insert": lambda sm, b: AccountBuilder(sm, b.account_id).session(NOW),
    "session resolve": _sql(
        "UPDATE ai_sessions SET status = 'resolved', resolved_at = now() WHERE account_id = :a"
    ),
    "session delete": _sql("DELETE FROM ai_sessions WHERE account_id = :a"),
    "flow insert": lambda sm, b: AccountBuilder(sm, b.account_id).flow("VPN reset", "VPN"),
    "flow rename": _sql("UPDATE trees SET name = name || ' (2)' WHERE account_id = :a"),
    "flow category": _sql("UPDATE trees SET category = 'Email' WHERE account_id = :a"),
    "flow archive": _sql("UPDATE trees SET status = 'archived' WHERE account_id = :a"),
    "flow counters": _sql("UPDATE trees SET usage_count = usage_count + 1 WHERE account_id = :a"),
    "psa activity": lambda sm, b: AccountBuilder(sm, b.account_id).activity(
        "note_posted", NOW - timedelta(minutes=5)
    ),
    "psa activity delete": _sql("DELETE FROM psa_activity_log WHERE account_id = :a"),
    "time zone": _sql("UPDATE accounts SET timezone = 'Europe/Berlin' WHERE id = :a"),
}


@pytest.mark.parametrize("kind", list(WRITES))
async def test_each_kind_of_write_bumps_only_its_account(
    sessionmaker: async_sessionmaker[AsyncSession],
    writer_sessionmaker: async_sessionmaker[AsyncSession],
    kind: str,
) -> None:
    mine = await AccountBuilder.create(sessionmaker)
    other = await AccountBuilder.create(sessionmaker)
    flow = await mine.flow("Printer", "Hardware")
    await mine.session(NOW - timedelta(hours=1), flow_id=flow)
    await mine.activity("time_entry_posted", NOW - timedelta(hours=1), hours=0.5)
    await other.session(NOW - timedelta(hours=1))
    before_mine = await version(writer_sessionmaker, mine.account_id)
    before_other = await version(writer_sessionmaker, other.account_id)
    assert before_mine > 0 and before_other > 0

    await WRITES[kind](writer_sessionmaker, AccountBuilder(writer_sessionmaker, mine.account_id))

    assert await version(writer_sessionmaker, mine.account_id) > before_mine
    assert await version(writer_sessionmaker, other.account_id) == before_other


async def test_reads_and_no_op_statements_leave_the_version(
    sessionmaker: async_sessionmaker[AsyncSession],
    writer_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    builder = await AccountBuilder.create(sessionmaker)
    await builder.session(NOW)
    before = await version(writer_sessionmaker, builder.account_id)
    await run(writer_sessionmaker, builder.account_id, "SELECT count(*) FROM ai_sessions")
    # A statement that touches no row has empty transition tables: nothing to bump.
    await run(writer_sessionmaker, builder.account_id, "DELETE FROM ai_sessions WHERE false")
    assert await version(writer_sessionmaker, builder.account_id) == before


async def test_a_rolled_back_write_leaves_the_version(
    sessionmaker: async_sessionmaker[AsyncSession],
    writer_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    builder = await AccountBuilder.create(sessionmaker)
    before = await version(writer_sessionmaker, builder.account_id)
    async with writer_sessionmaker() as session, session.begin():
        await session.execute(
            text("SELECT set_config('app.current_account_id', :a, true)"),
            {"a": str(builder.account_id)},
        )
        await session.execute(
            text("UPDATE accounts SET timezone = 'Asia/Tokyo' WHERE id = :a"),
            {"a": builder.account_id},
        )
        seen = (await session.execute(_VERSION, {"a": builder.account_id})).scalar_one()
        assert seen > before  # the writer sees its own bump...
        await session.rollback()
    assert await version(writer_sessionmaker, builder.account_id) == before  # ...no one else


async def test_the_one_round_trip_state_read_binds_only_its_own_statement(
    sessionmaker: async_sessionmaker[AsyncSession],
    writer_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    builder = await AccountBuilder.create(sessionmaker, timezone="Asia/Tokyo")
    await builder.session(NOW)
    expected = await version(writer_sessionmaker, builder.account_id)
    state = text("SELECT version, timezone FROM flowpilot_data_state(:a)")
    bound = text("SELECT current_setting('app.current_account_id', true)")
    async with writer_sessionmaker() as session:
        connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        row = (await connection.execute(state, {"a": builder.account_id})).one()
        # The binding ended with the function's statement.
        after = (await connection.execute(bound)).scalar_one()
        missing = (await connection.execute(state, {"a": uuid.uuid4()})).all()
    assert tuple(row) == (expected, "Asia/Tokyo")
    assert after in (None, "") and missing == []
