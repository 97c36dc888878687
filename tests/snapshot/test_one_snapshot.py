"""One instant per response: every part of a response comes from one database snapshot.

The parts of a response are read by several batches; writes that commit between two
batches must not reach the later ones. The first test commits a write after every batch
of a request (deterministically); the second reads every tab while a writer inserts and
resolves sessions and logs PSA activity without pause.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.reader import Reader
from persistence.snapshot import ReadSnapshot
from persistence.tenancy import account_transaction
from tests.graphql_client import ApiClient, running_app, settings_for_tests
from tests.tabs.support import Tenant, new_tenant, utc_now

T = TypeVar("T")

CONSISTENCY = """
query Consistency {
  overview(period: LAST_7_DAYS) {
    asOf sessionCount resolutionRate
    domains { sessionCount }
    confidenceTiers { guided exploring discovery unknown }
    dailyTrend { sessions resolved escalated }
  }
  coverage(period: LAST_7_DAYS) { asOf unmappedSessionCount domains { name sessionCount } }
  psaActivity(period: LAST_7_DAYS) {
    asOf totalTimeEntries totalHoursLogged
    dailyTrend { entries hours }
    pushFunnel { totalSessions linkedToTicket docPushed timeEntryLogged }
  }
}
"""

DOMAINS = ["Email", "email ", "Network", "VPN", None, "  "]
TIERS = ["guided", "exploring", "discovery", None]


def assert_adds_up(data: dict[str, Any]) -> int:
    """Every identity of METRICS.md that ties the parts together; returns sessionCount."""
    overview, coverage, psa = data["overview"], data["coverage"], data["psaActivity"]
    total = overview["sessionCount"]
    unmapped = coverage["unmappedSessionCount"]
    assert overview["asOf"] == coverage["asOf"] == psa["asOf"]
    assert sum(d["sessionCount"] for d in overview["domains"]) + unmapped == total
    assert sum(d["sessionCount"] for d in coverage["domains"]) + unmapped == total
    assert sum(overview["confidenceTiers"].values()) == total
    trend = overview["dailyTrend"]
    assert len(trend) == 7
    assert sum(day["sessions"] for day in trend) == total
    resolved = sum(day["resolved"] for day in trend)
    assert overview["resolutionRate"] == (resolved / total if total else None)
    assert sum(day["entries"] for day in psa["dailyTrend"]) == psa["totalTimeEntries"]
    # Hours are quarter hours, so their float sums are exact.
    assert sum(day["hours"] for day in psa["dailyTrend"]) == psa["totalHoursLogged"]
    funnel = psa["pushFunnel"]
    assert funnel["totalSessions"] == total
    assert (
        funnel["totalSessions"]
        >= funnel["linkedToTicket"]
        >= funnel["docPushed"]
        >= funnel["timeEntryLogged"]
    )
    return int(total)


class Writer:
    """Writes to one account in short transactions of its own, as the product does."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant) -> None:
        self.sessionmaker = sessionmaker
        self.tenant = tenant
        self.random = random.Random(11)
        self.writes = 0

    async def _in_transaction(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with account_transaction(self.sessionmaker, self.tenant.account_id) as session:
            result = await work(session)
        self.writes += 1
        return result

    async def new_session(self) -> None:
        started = utc_now() - timedelta(minutes=self.random.randint(5, 3 * 24 * 60))
        ticket = str(self.random.randint(1000, 9999)) if self.random.random() < 0.6 else None
        values = {
            "id": uuid.uuid4(),
            "account": self.tenant.account_id,
            "domain": self.random.choice(DOMAINS),
            "tier": self.random.choice(TIERS),
            "started": started,
            "ticket": ticket,
        }
        await self._in_transaction(
            lambda session: session.execute(
                text(
                    "INSERT INTO ai_sessions (id, account_id, session_type, problem_domain, "
                    "status, confidence_tier, started_at, psa_ticket_id) VALUES (:id, "
                    ":account, 'flowpilot', :domain, 'active', :tier, :started, :ticket)"
                ),
                values,
            )
        )

    async def resolve_one(self) -> None:
        status = self.random.choice(["resolved", "escalated"])
        await self._in_transaction(
            lambda session: session.execute(
                text(
                    "UPDATE ai_sessions SET status = :status, resolved_at = now() "
                    "WHERE id = (SELECT id FROM ai_sessions WHERE account_id = :account "
                    "AND status = 'active' ORDER BY started_at LIMIT 1)"
                ),
                {"status": status, "account": self.tenant.account_id},
            )
        )

    async def log_activity(self) -> None:
        kind = self.random.choice(["time_entry_posted", "note_posted"])
        hours = self.random.choice([0.25, 0.5, 1.0, 1.75]) if kind == "time_entry_posted" else None
        await self._in_transaction(
            lambda session: session.execute(
                text(
                    "INSERT INTO psa_activity_log (id, account_id, session_id, activity_type, "
                    "hours_logged, psa_ticket_id, external_id, created_at) "
                    "SELECT :id, account_id, id, :kind, :hours, psa_ticket_id, :external, "
                    "now() FROM ai_sessions WHERE account_id = :account "
                    "AND psa_ticket_id IS NOT NULL ORDER BY random() LIMIT 1"
                ),
                {
                    "id": uuid.uuid4(),
                    "kind": kind,
                    "hours": hours,
                    "external": uuid.uuid4().hex,
                    "account": self.tenant.account_id,
                },
            )
        )

    async def any_write(self) -> None:
        action = self.random.choice([self.new_session, self.new_session, self.resolve_one])
        await (self.log_activity() if self.random.random() < 0.3 else action())


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    tenant = await new_tenant(sessionmaker, "America/New_York")
    await tenant.builder.flow("Mailbox full", "Email")
    await tenant.builder.flow("Tunnel down", "VPN")
    writer = Writer(sessionmaker, tenant)
    for _ in range(12):
        await writer.new_session()
    return tenant


async def test_writes_between_batches_never_reach_the_rest_of_the_response(
    api: ApiClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A session is committed after every batch; the response shows none of them."""
    before = assert_adds_up(await tenant.query(api, CONSISTENCY))
    assert before == 12
    writer = Writer(sessionmaker, tenant)
    read = ReadSnapshot.read
    batches = 0

    async def read_then_write(self: ReadSnapshot, work: Callable[[Reader], Any]) -> Any:
        nonlocal batches
        result = await read(self, work)
        batches += 1
        await writer.new_session()
        return result

    monkeypatch.setattr(ReadSnapshot, "read", read_then_write)
    during = await tenant.query(api, CONSISTENCY)
    monkeypatch.undo()

    assert batches >= 5  # the parts really are read by several batches
    assert writer.writes == batches
    assert assert_adds_up(during) == before
    after = assert_adds_up(await tenant.query(api, CONSISTENCY))
    assert after == before + batches


async def test_every_response_adds_up_while_the_account_is_written(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    """500 responses of every tab, read while a writer commits without pause (the
    per-account query budget is off: it would refuse back-to-back requests)."""
    writer = Writer(sessionmaker, tenant)
    stop = asyncio.Event()

    async def write_until_stopped() -> None:
        while not stop.is_set():
            await writer.any_write()

    async def read(api: ApiClient, count: int) -> list[int]:
        return [assert_adds_up(await tenant.query(api, CONSISTENCY)) for _ in range(count)]

    settings = settings_for_tests(database_url, rate_limit_cost_per_s=0)
    async with running_app(settings) as api:
        writing = asyncio.create_task(write_until_stopped())
        try:
            totals = [
                total
                for part in await asyncio.gather(*(read(api, 125) for _ in range(4)))
                for total in part
            ]
        finally:
            stop.set()
            await writing
    assert len(totals) == 500
    # The writer really wrote while the responses were read.
    assert writer.writes > 0
    assert len(set(totals)) > 1
    print(f"500 responses added up; {writer.writes} writes; {len(set(totals))} distinct totals")
