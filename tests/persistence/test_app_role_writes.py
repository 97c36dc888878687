"""Every write the API makes works with the narrowed grants of its role: a flow match, the
success-rate job, the PSA connection, and a push through the outbox into the activity log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from persistence import psa_outbox
from persistence.flow_matches import record_flow_match
from persistence.psa_connections import ConnectionSettings, save_connection
from persistence.success_rates import recalculate_success_rates
from persistence.tenancy import account_transaction
from psa.credentials import new_secret_key
from tests.factories import AccountBuilder

NOW = datetime.now(UTC)


async def test_the_api_writes_as_its_own_role(
    sessionmaker: async_sessionmaker[AsyncSession],
    role_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    account = await AccountBuilder.create(sessionmaker)
    flow = await account.flow("Printer", "Hardware")
    matched = await account.session(NOW - timedelta(hours=2), status="resolved", ticket="T-7")
    await account.session(NOW - timedelta(hours=1), status="escalated", flow_id=flow)
    account_id = account.account_id

    match = await record_flow_match(role_sessionmaker, account_id, matched, flow, 0.8)
    assert (match.counted, match.usage_count) == (True, 1)

    engine = role_sessionmaker.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    await recalculate_success_rates(engine, wait=True)

    settings = ConnectionSettings("na.example.com", "v4_6", "acme", "pub", "client", "priv")
    async with account_transaction(role_sessionmaker, account_id) as session:
        await save_connection(session, account_id, settings, new_secret_key())
        intent = psa_outbox.Intent(account_id, matched, "time_entry_posted", "T-7", {}, 1.5)
        row, created = await psa_outbox.create_intent(session, intent)
        await psa_outbox.count_attempt(session, account_id, row.id)
        await psa_outbox.record_external_id(session, account_id, row.id, "te-1")
        activity = await psa_outbox.complete(session, account_id, row.id)
    assert created and activity is not None

    async with account_transaction(sessionmaker, account_id) as session:
        flows = await session.execute(
            text("SELECT usage_count, success_rate FROM trees WHERE id = :f"), {"f": flow}
        )
        # One resolved and one escalated session on the flow: 1 / 2.
        assert tuple(flows.one()) == (1, 0.5)
        hours = await session.scalar(
            text("SELECT sum(hours) FROM rollup_psa_days WHERE account_id = :a"),
            {"a": account_id},
        )
        assert hours == 1.5
