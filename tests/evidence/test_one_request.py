"""Evidence asked beside its tab answers from the same snapshot; pages stay stable while
sessions are written; bad arguments get coded errors; only team admins and admins, and
only their own account's rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.reader import Reader
from persistence.snapshot import ReadSnapshot
from tests.evidence.support import SESSION_PAGE, RandomAccount, all_pages, random_account
from tests.graphql_client import ApiClient, token_for
from tests.tabs.support import utc_now

TAB_AND_EVIDENCE = """
query {
  overview(period: LAST_7_DAYS) { sessionCount confidenceTiers { guided } }
  coverage(period: LAST_7_DAYS) { unmappedSessionCount }
  psaActivity(period: LAST_7_DAYS) { pushFunnel { linkedToTicket } }
  all: sessionEvidence(period: LAST_7_DAYS, first: 5) { totalCount nodes { id } }
  guided: sessionEvidence(period: LAST_7_DAYS, filter: {tier: GUIDED}) { totalCount }
  unmapped: sessionEvidence(period: LAST_7_DAYS, filter: {unmapped: true}) { totalCount }
  linked: sessionEvidence(period: LAST_7_DAYS, filter: {funnelStep: LINKED_TO_TICKET}) {
    totalCount
  }
}
"""


@pytest.fixture
async def account(sessionmaker: async_sessionmaker[AsyncSession]) -> RandomAccount:
    return await random_account(sessionmaker, seed=5, now=utc_now(), sessions=120)


async def test_evidence_and_tab_of_one_request_share_its_snapshot(
    api: ApiClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    account: RandomAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A guided, unmapped, linked session is committed after every batch of the request;
    the evidence totals still equal the tab's counts, and none of the new rows shows."""
    builder = account.tenant.builder
    before = await account.tenant.query(api, TAB_AND_EVIDENCE)
    read = ReadSnapshot.read
    batches = 0

    async def read_then_write(self: ReadSnapshot, work: Callable[[Reader], Any]) -> Any:
        nonlocal batches
        result = await read(self, work)
        batches += 1
        await builder.session(
            utc_now() - timedelta(minutes=1), tier="guided", ticket="T-9", domain=None
        )
        return result

    monkeypatch.setattr(ReadSnapshot, "read", read_then_write)
    during = await account.tenant.query(api, TAB_AND_EVIDENCE)
    monkeypatch.undo()
    assert batches >= 4
    for data in (before, during):
        overview = data["overview"]
        assert data["all"]["totalCount"] == overview["sessionCount"]
        assert data["guided"]["totalCount"] == overview["confidenceTiers"]["guided"]
        assert data["unmapped"]["totalCount"] == data["coverage"]["unmappedSessionCount"]
        linked = data["psaActivity"]["pushFunnel"]["linkedToTicket"]
        assert data["linked"]["totalCount"] == linked
    assert during == before
    after = await account.tenant.query(api, TAB_AND_EVIDENCE)
    assert after["all"]["totalCount"] == before["all"]["totalCount"] + batches
    assert after["guided"]["totalCount"] == before["guided"]["totalCount"] + batches


async def test_pages_after_a_cursor_ignore_newer_sessions_and_miss_none(
    api: ApiClient, account: RandomAccount
) -> None:
    """Sessions started after the first page was read land before it, never inside the
    pages that follow: the rest of the list is what it was."""
    tenant = account.tenant
    variables = {"period": "LAST_90_DAYS", "first": 10}
    first = await api.data(SESSION_PAGE, variables, token=tenant.token)
    page = first["sessionEvidence"]
    for minutes in (1, 2, 3):
        await tenant.builder.session(utc_now() - timedelta(minutes=minutes))
    _, rest = await all_pages(
        api,
        tenant.token,
        SESSION_PAGE,
        "sessionEvidence",
        10,
        period="LAST_90_DAYS",
        after=page["pageInfo"]["endCursor"],
    )
    _, whole = await all_pages(
        api, tenant.token, SESSION_PAGE, "sessionEvidence", 100, period="LAST_90_DAYS"
    )
    ids = [row["id"] for row in page["nodes"]] + [row["id"] for row in rest]
    assert ids == [row["id"] for row in whole][3:]
    assert len(whole) == page["totalCount"] + 3


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("first: 0", "first must be between 1 and 200"),
        ("first: 201", "first must be between 1 and 200"),
        ('after: "not-a-cursor"', "after is not a cursor of this list"),
        ('filter: {day: "2001-01-01"}', "day must be a local day of the window"),
        ('filter: {domain: "VPN", unmapped: true}', "give domain or unmapped, not both"),
        ('filter: {domain: "   "}', "domain is blank: use unmapped"),
        ('filter: {flowId: "nope"}', "flowId is not a flow id (a UUID)"),
        ('period: LAST_7_DAYS, range: {from: "2024-01-01", to: "2024-01-02"}', "give either"),
    ],
)
async def test_bad_arguments_get_a_coded_error(
    api: ApiClient, account: RandomAccount, arguments: str, message: str
) -> None:
    body = await api.execute(
        f"{{ sessionEvidence({arguments}) {{ totalCount }} }}", token=account.tenant.token
    )
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith(message)
    assert body["data"] is None


async def test_only_admins_and_only_their_own_account(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession], account: RandomAccount
) -> None:
    for field in ("sessionEvidence { totalCount }", "psaActivityEvidence { totalCount }"):
        engineer = token_for(account.tenant.account_id, "engineer")
        body = await api.execute(f"{{ {field} }}", token=engineer)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        body = await api.execute(f"{{ {field} }}")
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # Another account's flow: its sessions are invisible, the list is empty.
    other = await random_account(sessionmaker, seed=6, now=utc_now(), sessions=40)
    query = "query ($id: ID!) { sessionEvidence(period: LAST_90_DAYS, filter: {flowId: $id}) "
    query += "{ totalCount nodes { id } } }"
    mine = await api.data(query, {"id": str(other.flow_ids[0])}, token=other.tenant.token)
    assert mine["sessionEvidence"]["totalCount"] > 0
    theirs = await api.data(query, {"id": str(other.flow_ids[0])}, token=account.tenant.token)
    assert theirs["sessionEvidence"] == {"totalCount": 0, "nodes": []}


async def test_cost_grows_with_the_page_size(api: ApiClient, account: RandomAccount) -> None:
    """A page of 200 sessions with every push field costs more than the query limit."""
    fields = "id startedAt status pushes { id type hours createdAt psaTicketId externalId }"
    small = await api.execute(
        f"{{ sessionEvidence(first: 20) {{ nodes {{ {fields} }} }} }}", token=account.tenant.token
    )
    assert "errors" not in small
    large = await api.execute(
        f"{{ sessionEvidence(first: 200) {{ nodes {{ {fields} }} }} }}", token=account.tenant.token
    )
    assert large["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
