"""The flows' lifetime counters an adoption fills, while the API records flow matches.

The counters are filled after an account's last chunk, in a transaction that locks the
account's flows before it reads their matched sessions
(persistence/operations/backfill.py): a match either committed before that read (and is
in it) or adds its 1 after the fill committed. Each case below runs a real match's
statements on a connection of its own, interleaved with the fill at the point that
matters: a match whose session update is in flight (its foreign key's check holds a
share of the flow's row, and the update has moved the account's data version), and a
whole match not yet committed. In both the fill waits for the match and then reads its
session; without the flows locked first, the second case loses the match.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.engine import asyncpg_dsn, create_sessionmaker
from persistence.flow_matches import record_flow_match_in
from persistence.operations.backfill import (
    build_chunk,
    fill_counters,
    pending_accounts,
    start_next,
)
from tests.persistence.test_adoption import (
    ACME,
    PRINTER,
    adopt,
    insert_product_rows,
    product,
)

__all__ = ["product"]  # the fixture


async def _built_but_not_counted(engine: AsyncEngine) -> uuid.UUID:
    """Adopt, then build the first queued account's chunks, stopping before its counters."""
    await adopt(engine)
    account = await start_next(engine)
    assert account is not None
    while not await build_chunk(engine, account, 2):
        pass
    return account


async def _unmatched_session(engine: AsyncEngine) -> uuid.UUID:
    """ACME's abandoned Email session: a FlowPilot session no flow was matched to."""
    async with engine.connect() as connection:
        found = await connection.execute(
            text(
                "SELECT id FROM ai_sessions WHERE account_id = :a AND problem_domain = 'Email' "
                "AND matched_flow_id IS NULL AND session_type = 'flowpilot'"
            ),
            {"a": ACME},
        )
        return uuid.UUID(str(found.scalar_one()))


async def _printer(engine: AsyncEngine) -> tuple[int, datetime]:
    async with engine.connect() as connection:
        found = await connection.execute(
            text("SELECT usage_count, last_matched_at FROM trees WHERE id = :f"), {"f": PRINTER}
        )
        count, last = found.one()
        return int(count), last


async def _bound(connection: AsyncConnection) -> None:
    await connection.execute(
        text("SELECT set_config('app.current_account_id', :a, true)"), {"a": str(ACME)}
    )


async def _wait_until_blocked(engine: AsyncEngine, statement: str) -> None:
    """Until a backend runs `statement` and waits for a lock (a minute at most: a bound
    for a broken build, far above any wait here). On a connection of its own: the test's
    pool is the match's and the fill's."""
    url = engine.url.render_as_string(hide_password=False)
    watcher = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for _ in range(3000):
            waiting = await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE $1",
                f"%{statement}%",
            )
            if waiting:
                return
            await asyncio.sleep(0.02)
        seen = await watcher.fetch(
            "SELECT wait_event_type, wait_event, left(query, 60) AS q FROM pg_stat_activity "
            "WHERE state = 'active' AND pid <> pg_backend_pid()"
        )
    finally:
        await watcher.close()
    raise AssertionError(f"nothing waited for a lock running {statement}: {seen}")


async def test_a_match_in_flight_when_the_counters_are_filled_adds_its_one_after(
    product: AsyncEngine,
) -> None:
    now = datetime.now(UTC)
    await insert_product_rows(product, now)
    account = await _built_but_not_counted(product)
    assert account == ACME
    session = await _unmatched_session(product)
    async with product.connect() as match:
        # The match has set the session's flow (and so moved the account's data version),
        # not yet counted it on the flow.
        await _bound(match)
        await match.execute(
            text("UPDATE ai_sessions SET matched_flow_id = :f WHERE id = :s"),
            {"f": PRINTER, "s": session},
        )
        filling = asyncio.create_task(fill_counters(product, ACME))
        # The fill waits for the match's flow before it reads the matched sessions...
        await _wait_until_blocked(product, "SELECT 1 FROM trees WHERE account_id")
        # ...while the match counts on the flow without waiting, and commits.
        await match.execute(
            text(
                "UPDATE trees SET usage_count = usage_count + 1, "
                "last_matched_at = greatest(last_matched_at, now()) WHERE id = :f"
            ),
            {"f": PRINTER},
        )
        await match.commit()
    # The fill then reads the match's session with the other three.
    assert await asyncio.wait_for(filling, 60) == 7  # ACME's sessions
    count, last = await _printer(product)
    assert count == 4  # the three sessions of the fill and the match's own
    assert last >= now
    async with product.connect() as connection:
        assert await pending_accounts(connection) == 1  # Globex still queued, ACME done


async def test_a_match_holding_the_flow_when_the_fill_starts_is_in_the_fill(
    product: AsyncEngine,
) -> None:
    now = datetime.now(UTC)
    await insert_product_rows(product, now)
    await _built_but_not_counted(product)
    session = await _unmatched_session(product)
    sessionmaker = create_sessionmaker(product)
    async with sessionmaker() as match, match.begin():
        # A whole flow match, as the API records it, not yet committed: it holds the
        # session's row and the flow's.
        await match.execute(
            text("SELECT set_config('app.current_account_id', :a, true)"), {"a": str(ACME)}
        )
        recorded = await record_flow_match_in(match, ACME, session, PRINTER, 0.8)
        assert (recorded.counted, recorded.usage_count) == (True, 1)
        filling = asyncio.create_task(fill_counters(product, ACME))
        # The fill waits for the match's flow before it reads the matched sessions.
        await _wait_until_blocked(product, "SELECT 1 FROM trees WHERE account_id")
        assert not filling.done()
    # The match committed first: the fill's read sees its session, four in all.
    assert await asyncio.wait_for(filling, 60) == 7  # ACME's sessions
    count, last = await _printer(product)
    assert count == 4
    # The match's own time, not the latest matched session's start (3 days ago).
    assert last >= now
    assert last - now < timedelta(hours=1)
