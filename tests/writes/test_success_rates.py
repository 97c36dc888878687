"""Success-rate recalculation: hand-computed rates, all accounts, and the advisory lock."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from persistence.success_rates import ADVISORY_LOCK_KEY, recalculate_success_rates
from persistence.tenancy import account_transaction
from tests.factories import AccountBuilder


async def rates(
    sessionmaker: async_sessionmaker[AsyncSession], account: uuid.UUID
) -> dict[uuid.UUID, float | None]:
    async with account_transaction(sessionmaker, account) as session:
        rows = await session.execute(
            text("SELECT id, success_rate FROM trees WHERE account_id = :a"), {"a": account}
        )
        return {row.id: row.success_rate for row in rows}


async def test_recalculation_matches_hand_computed_rates_for_every_account(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime.now(UTC)
    recent, old = now - timedelta(days=89), now - timedelta(days=91)
    first = await AccountBuilder.create(sessionmaker)
    busy = await first.flow("Busy", "a", success_rate=0.1)
    stale = await first.flow("Only old sessions", "a", success_rate=0.5)
    unused = await first.flow("Never matched", "a")
    archived = await first.flow("Archived", "a", status="archived")
    # busy: 3 resolved of 4 recent FlowPilot sessions; the assistant and the old ones
    # do not count.
    for status in ("resolved", "resolved", "resolved", "escalated"):
        await first.session(recent, flow_id=busy, status=status)
    await first.session(recent, flow_id=busy, status="resolved", session_type="assistant")
    await first.session(recent, flow_id=busy, status="abandoned", session_type="assistant")
    await first.session(old, flow_id=busy, status="abandoned")
    await first.session(old, flow_id=stale, status="resolved")
    await first.session(recent, flow_id=archived, status="resolved")
    await first.session(recent, flow_id=archived, status="active")
    second = await AccountBuilder.create(sessionmaker)
    other = await second.flow("Other account", "b")
    for status in ("resolved", "paused", "escalated"):
        await second.session(now - timedelta(days=1), flow_id=other, status=status)

    result = await recalculate_success_rates(engine, wait=True)

    assert result is not None
    assert await rates(sessionmaker, first.account_id) == {
        busy: 3 / 4,
        stale: None,
        unused: None,
        archived: 1 / 2,
    }
    assert await rates(sessionmaker, second.account_id) == {other: 1 / 3}
    assert result.accounts >= 2 and result.flows >= 5 and result.changed >= 4
    # A second run finds nothing to change in these accounts.
    again = await recalculate_success_rates(engine, wait=True)
    assert again is not None
    assert await rates(sessionmaker, second.account_id) == {other: 1 / 3}


async def test_two_runs_started_at_once_run_one_after_the_other(engine: AsyncEngine) -> None:
    results = await asyncio.gather(
        recalculate_success_rates(engine, wait=True), recalculate_success_rates(engine, wait=True)
    )
    assert all(result is not None for result in results)
    earlier, later = sorted(
        (r for r in results if r is not None), key=lambda result: result.started_at
    )
    assert later.started_at >= earlier.finished_at


async def test_periodic_run_skips_while_another_worker_holds_the_lock(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    acct = await AccountBuilder.create(sessionmaker)
    flow = await acct.flow("Held", "c")
    await acct.session(datetime.now(UTC), flow_id=flow, status="resolved")
    async with engine.connect() as holder:
        await holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
        await holder.commit()
        try:
            assert await recalculate_success_rates(engine, wait=False) is None
            assert await rates(sessionmaker, acct.account_id) == {flow: None}
        finally:
            await holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
            await holder.commit()
    assert await recalculate_success_rates(engine, wait=False) is not None
    assert await rates(sessionmaker, acct.account_id) == {flow: 1.0}
