"""The service behind PgBouncer in transaction pooling mode (DATABASE_POOLER=pgbouncer).

Every way it reaches PostgreSQL goes through a real PgBouncer with two server
connections per role, which its clients take turns on: the tabs (the request's
snapshot and the cache's state lookups), a flow match, a PSA push, the success-rate
job and the CLI. Nothing may be set per session: a startup parameter is refused, a
named prepared statement meets another client's, a session-level lock stays behind.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from persistence.engine import asyncpg_dsn, create_engine, create_sessionmaker
from persistence.success_rates import ADVISORY_LOCK_KEY, recalculate_success_rates
from service.cli.main import main
from tests.cache.support import Outcomes
from tests.factories import AccountBuilder
from tests.fakes.connectwise_server import FakeConnectWise
from tests.graphql_client import running_app, settings_for_tests, token_for
from tests.pgbouncer.bouncer import Bouncer
from tests.writes.conftest import SECRET_KEY, connect_account, provider_factory

PROJECT = Path(__file__).resolve().parents[2]
TABS = """
query Tabs {
  overview(period: LAST_7_DAYS) {
    sessionCount resolutionRate escalationRate domains { name sessionCount flowCount }
  }
  coverage(period: LAST_7_DAYS) {
    unmappedSessionCount totalDomains domains { name sessionCount resolutionRate }
  }
  flowQuality(period: LAST_7_DAYS) { totalFlows flows { flow { name } usageCount successRate } }
  psaActivity(period: LAST_7_DAYS) {
    totalTimeEntries totalHoursLogged
    pushFunnel { totalSessions linkedToTicket docPushed timeEntryLogged }
  }
}
"""
MATCH = """
mutation($input: RecordFlowMatchInput!) {
  recordFlowMatch(input: $input) { sessionId flowId counted totalUsageCount }
}
"""
TIME_ENTRY = """
mutation($input: PushTimeEntryInput!) {
  pushTimeEntry(input: $input) { type psaTicketId externalId hoursLogged }
}
"""


def pooled(url: str, **overrides: Any) -> Any:
    """The app's settings for `url` through PgBouncer."""
    return settings_for_tests(url, database_pooler="pgbouncer", **overrides)


@pytest.fixture
async def owner_sessionmaker(
    bounced_owner_url: str,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The fixtures' writes, through PgBouncer too."""
    engine = create_engine(bounced_owner_url, pooler="pgbouncer")
    yield create_sessionmaker(engine)
    await engine.dispose()


async def three_sessions(sessionmaker: async_sessionmaker[AsyncSession]) -> AccountBuilder:
    """Two network sessions on the VPN flow (one resolved, one escalated, the resolved
    one on ticket 100 with a note and a 1.5 h time entry) and one resolved email session."""
    b = await AccountBuilder.create(sessionmaker)
    vpn = await b.flow("VPN", "network")
    started = datetime.now(UTC) - timedelta(hours=3)
    resolved = started + timedelta(minutes=30)
    s1 = await b.session(
        started, domain="network", flow_id=vpn, status="resolved", resolved_at=resolved,
        ticket="100",
    )  # fmt: skip
    await b.session(started, domain="network", flow_id=vpn, status="escalated")
    await b.session(started, domain="email", status="resolved", resolved_at=resolved)
    await b.activity("note_posted", started + timedelta(hours=1), session_id=s1)
    await b.activity("time_entry_posted", started + timedelta(hours=1), session_id=s1, hours=1.5)
    return b


EXPECTED = {
    "overview": {
        "sessionCount": 3,
        "resolutionRate": pytest.approx(2 / 3),
        "escalationRate": pytest.approx(1 / 3),
        "domains": [
            {"name": "network", "sessionCount": 2, "flowCount": 1},
            {"name": "email", "sessionCount": 1, "flowCount": 0},
        ],
    },
    "coverage": {
        "unmappedSessionCount": 0,
        "totalDomains": 2,
        "domains": [
            {"name": "network", "sessionCount": 2, "resolutionRate": 0.5},
            {"name": "email", "sessionCount": 1, "resolutionRate": 1.0},
        ],
    },
    "flowQuality": {
        "totalFlows": 1,
        "flows": [{"flow": {"name": "VPN"}, "usageCount": 2, "successRate": 0.5}],
    },
    "psaActivity": {
        "totalTimeEntries": 1,
        "totalHoursLogged": 1.5,
        "pushFunnel": {
            "totalSessions": 3,
            "linkedToTicket": 1,
            "docPushed": 1,
            "timeEntryLogged": 1,
        },
    },
}


async def test_tabs_and_the_cache_answer_through_pgbouncer(
    bounced_app_url: str, owner_sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    b = await three_sessions(owner_sessionmaker)
    token = token_for(b.account_id)
    counts = Outcomes()
    async with running_app(pooled(bounced_app_url, response_cache=True)) as api:
        first = await api.data(TABS, token=token)
        # Eight at once on two server connections: snapshots and lookups take turns.
        together = await asyncio.gather(*(api.data(TABS, token=token) for _ in range(8)))
        for answer in (first, *together):
            for tab, expected in EXPECTED.items():
                assert without_as_of(answer)[tab] == expected
        assert counts.since("hit") >= 1
        await b.session(datetime.now(UTC) - timedelta(hours=1), domain="email")
        after = await api.data(TABS, token=token)  # the lookup sees the new version
    assert after["overview"]["sessionCount"] == 4
    assert after["psaActivity"]["pushFunnel"]["totalSessions"] == 4


def without_as_of(answer: dict[str, Any]) -> dict[str, Any]:
    return {tab: {k: v for k, v in body.items() if k != "asOf"} for tab, body in answer.items()}


async def test_a_flow_match_and_a_psa_push_write_through_pgbouncer(
    bounced_app_url: str,
    owner_sessionmaker: async_sessionmaker[AsyncSession],
    cw: FakeConnectWise,
) -> None:
    b = await AccountBuilder.create(owner_sessionmaker)
    await connect_account(owner_sessionmaker, b, cw)
    flow = await b.flow("Printer", "hardware", usage_count=4)
    engineer = await b.user("engineer")
    session = await b.session(
        datetime.now(UTC) - timedelta(hours=2), ticket="100", user_id=engineer
    )
    settings = pooled(bounced_app_url, psa_secret_key=SECRET_KEY)
    async with running_app(settings) as api:
        api.app.state.psa_pushes.provider_factory = provider_factory(cw)
        admin = token_for(b.account_id, "admin")
        matched = await api.data(
            MATCH,
            {"input": {"sessionId": str(session), "flowId": str(flow), "confidence": 0.8}},
            token=admin,
        )
        pushed = await api.data(
            TIME_ENTRY,
            {"input": {"sessionId": str(session), "hours": 0.75, "notes": "Cleared the queue"}},
            token=token_for(b.account_id, "engineer", user_id=engineer),
        )
        tabs = await api.data(TABS, token=token_for(b.account_id))
    assert matched["recordFlowMatch"] == {
        "sessionId": str(session),
        "flowId": str(flow),
        "counted": True,
        "totalUsageCount": 5,
    }
    assert pushed["pushTimeEntry"] == {
        "type": "TIME_ENTRY_POSTED",
        "psaTicketId": "100",
        "externalId": "1001",
        "hoursLogged": 0.75,
    }
    assert [(r.method, r.path) for r in cw.requests] == [
        ("POST", "/v4_6_release/apis/3.0/time/entries")
    ]
    assert tabs["psaActivity"]["totalTimeEntries"] == 1
    assert tabs["psaActivity"]["totalHoursLogged"] == 0.75


async def test_the_statement_timeout_binds_each_transaction_and_no_session(
    single_bouncer: Bouncer, database_url: str
) -> None:
    url = single_bouncer.url(database_url)
    engine = create_engine(url, statement_timeout_ms=300, pooler="pgbouncer")
    try:
        async with engine.connect() as connection:
            shown = (await connection.execute(text("SHOW statement_timeout"))).scalar_one()
            with pytest.raises(DBAPIError, match="statement timeout"):
                await connection.execute(text("SELECT pg_sleep(2)"))
        # Another client on the same server connection, outside any transaction.
        other = await asyncpg.connect(asyncpg_dsn(url), statement_cache_size=0)
        try:
            after = await other.fetchval("SHOW statement_timeout")
            slept = await other.fetchval("SELECT pg_sleep(0.5)::text")
        finally:
            await other.close()
    finally:
        await engine.dispose()
    assert shown == "300ms"
    assert after == "0"
    assert slept == ""


async def test_the_success_rate_job_through_pgbouncer_leaves_no_lock_behind(
    bounced_owner_url: str,
    engine: AsyncEngine,
    owner_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    b = await AccountBuilder.create(owner_sessionmaker)
    flow = await b.flow("Reset MFA", "identity")
    for status in ("resolved", "escalated", "resolved", "resolved"):
        await b.session(datetime.now(UTC) - timedelta(days=2), flow_id=flow, status=status)
    pooled_engine = create_engine(bounced_owner_url, pooler="pgbouncer")
    try:
        async with pooled_engine.connect() as holder, holder.begin():
            await holder.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
            skipped = await recalculate_success_rates(pooled_engine, wait=False)
        ran, held = [], []
        for _ in range(2):
            # One more account: the run's last transaction lands on the other server
            # connection than in the run before (a session lock would stay on one).
            await AccountBuilder.create(owner_sessionmaker)
            ran.append(await recalculate_success_rates(pooled_engine, wait=False) is not None)
            held.append(await lock_holders(engine))
    finally:
        await pooled_engine.dispose()
    assert skipped is None
    assert ran == [True, True]
    assert held == [[], []]
    assert await success_rate(engine, flow) == 0.75


async def lock_holders(engine: AsyncEngine) -> list[int]:
    """The backends holding the recalculation's advisory lock."""
    async with engine.connect() as connection:
        held = await connection.execute(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND ((classid::bigint << 32) | objid::bigint) = :key"
            ),
            {"key": ADVISORY_LOCK_KEY},
        )
        return [int(pid) for pid in held.scalars()]


async def success_rate(engine: AsyncEngine, flow: uuid.UUID) -> float | None:
    async with engine.connect() as connection:
        rate = await connection.execute(
            text("SELECT success_rate FROM trees WHERE id = :id"), {"id": flow}
        )
        value: float | None = rate.scalar_one()
        return value


async def test_the_cli_works_through_pgbouncer(
    single_bouncer: Bouncer,
    database_url: str,
    bounced_owner_url: str,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    b = await AccountBuilder.create(sessionmaker)
    flow = await b.flow("Unlock account", "identity")
    for status in ("resolved", "escalated", "escalated", "escalated", "resolved"):
        await b.session(datetime.now(UTC) - timedelta(days=3), flow_id=flow, status=status)
    monkeypatch.setenv("DATABASE_POOLER", "pgbouncer")
    monkeypatch.setenv("AUTH_JWT_SECRET", "cli-test-secret-0123456789-abcdefghij")
    # A recalculation holds its lock on one server connection and works on another.
    monkeypatch.setenv("DATABASE_URL", bounced_owner_url)
    # The CLI runs its own event loop: off this test's loop, in a thread.
    exit_code = await asyncio.to_thread(main, ["recalc-success-rates"])
    assert exit_code == 0, capsys.readouterr().err
    assert "success rates recalculated:" in capsys.readouterr().err
    assert await success_rate(engine, flow) == 2 / 5
    assert await lock_holders(engine) == []
    # Two runs, as two processes would (a worker and a command, or two commands), on one
    # server connection: statements the first leaves prepared there meet the second's.
    environment = {**os.environ, "DATABASE_URL": single_bouncer.url(database_url)}
    runs = [
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "main.py", "rebuild-rollups", "--account", str(b.account_id)],
            cwd=PROJECT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        for _ in range(2)
    ]
    assert [run.returncode for run in runs] == [0, 0], runs[-1].stderr
    assert all("rollups rebuilt: 1 accounts" in run.stderr for run in runs)
