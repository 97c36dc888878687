"""recordFlowMatch: atomic counters, idempotent pairs, re-matching, tenancy and roles."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.flow_matches import (
    FlowArchivedError,
    FlowNotFoundError,
    SessionNotFoundError,
    record_flow_match,
)
from persistence.tenancy import account_transaction
from tests.factories import AccountBuilder
from tests.graphql_client import ApiClient, token_for

MATCH = """
mutation($input: RecordFlowMatchInput!) {
  recordFlowMatch(input: $input) {
    sessionId flowId matchConfidence counted totalUsageCount lastMatchedAt
  }
}
"""
STARTED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


async def flow_counters(
    sessionmaker: async_sessionmaker[AsyncSession], account: uuid.UUID, flow: uuid.UUID
) -> tuple[int, datetime | None]:
    async with account_transaction(sessionmaker, account) as session:
        row = (
            await session.execute(
                text("SELECT usage_count, last_matched_at FROM trees WHERE id = :id"), {"id": flow}
            )
        ).one()
    return row.usage_count, row.last_matched_at


async def session_match(
    sessionmaker: async_sessionmaker[AsyncSession], account: uuid.UUID, session_id: uuid.UUID
) -> tuple[uuid.UUID | None, float | None]:
    async with account_transaction(sessionmaker, account) as session:
        row = (
            await session.execute(
                text("SELECT matched_flow_id, match_confidence FROM ai_sessions WHERE id = :id"),
                {"id": session_id},
            )
        ).one()
    return row.matched_flow_id, row.match_confidence


async def test_fifty_concurrent_matches_of_distinct_sessions_count_fifty(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    acct = await AccountBuilder.create(sessionmaker)
    flow = await acct.flow("VPN reconnect", "network", usage_count=3)
    sessions = [await acct.session(STARTED) for _ in range(50)]

    results = await asyncio.gather(
        *(record_flow_match(sessionmaker, acct.account_id, s, flow, 0.9) for s in sessions)
    )

    assert all(result.counted for result in results)
    count, last = await flow_counters(sessionmaker, acct.account_id, flow)
    assert count == 3 + 50
    assert sorted(result.usage_count for result in results) == list(range(4, 54))
    assert last is not None
    assert {await session_match(sessionmaker, acct.account_id, s) for s in sessions} == {
        (flow, 0.9)
    }


async def test_the_same_pair_repeated_concurrently_counts_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    acct = await AccountBuilder.create(sessionmaker)
    flow = await acct.flow("Printer offline", "printing")
    session_id = await acct.session(STARTED)

    results = await asyncio.gather(
        *(
            record_flow_match(sessionmaker, acct.account_id, session_id, flow, 0.8)
            for _ in range(20)
        )
    )

    assert [r.counted for r in results].count(True) == 1
    assert (await flow_counters(sessionmaker, acct.account_id, flow))[0] == 1
    # Again later, with another confidence: nothing changes at all.
    again = await record_flow_match(sessionmaker, acct.account_id, session_id, flow, 0.2)
    assert not again.counted
    assert await session_match(sessionmaker, acct.account_id, session_id) == (flow, 0.8)
    assert (await flow_counters(sessionmaker, acct.account_id, flow))[0] == 1


async def test_rematching_to_another_flow_counts_for_the_new_flow(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    acct = await AccountBuilder.create(sessionmaker)
    first = await acct.flow("Outlook profile", "email")
    second = await acct.flow("Mailbox full", "email")
    session_id = await acct.session(STARTED)
    at = datetime(2025, 3, 2, 10, 0, tzinfo=UTC)

    await record_flow_match(sessionmaker, acct.account_id, session_id, first, 0.5, now=at)
    moved = await record_flow_match(
        sessionmaker, acct.account_id, session_id, second, 0.7, now=at + timedelta(minutes=5)
    )

    assert moved.counted
    assert await flow_counters(sessionmaker, acct.account_id, first) == (1, at)
    assert await flow_counters(sessionmaker, acct.account_id, second) == (
        1,
        at + timedelta(minutes=5),
    )
    assert await session_match(sessionmaker, acct.account_id, session_id) == (second, 0.7)


async def test_other_accounts_and_archived_flows_are_refused(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    mine = await AccountBuilder.create(sessionmaker)
    theirs = await AccountBuilder.create(sessionmaker)
    my_flow = await mine.flow("Mine", "x")
    archived = await mine.flow("Old", "x", status="archived")
    my_session = await mine.session(STARTED)
    their_flow = await theirs.flow("Theirs", "x")
    their_session = await theirs.session(STARTED)

    with pytest.raises(FlowNotFoundError):
        await record_flow_match(sessionmaker, mine.account_id, my_session, their_flow, 0.5)
    with pytest.raises(SessionNotFoundError):
        await record_flow_match(sessionmaker, mine.account_id, their_session, my_flow, 0.5)
    with pytest.raises(FlowArchivedError):
        await record_flow_match(sessionmaker, mine.account_id, my_session, archived, 0.5)

    assert (await flow_counters(sessionmaker, theirs.account_id, their_flow))[0] == 0
    assert await session_match(sessionmaker, theirs.account_id, their_session) == (None, None)
    assert await session_match(sessionmaker, mine.account_id, my_session) == (None, None)


def _codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_graphql_matches_concurrently_and_maps_errors_to_codes(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    acct = await AccountBuilder.create(sessionmaker)
    other = await AccountBuilder.create(sessionmaker)
    flow = await acct.flow("Disk cleanup", "storage")
    archived = await acct.flow("Retired", "storage", status="archived")
    sessions = [await acct.session(STARTED) for _ in range(50)]
    other_flow = await other.flow("Other", "storage")
    service = token_for(acct.account_id, "service")

    def match(session_id: uuid.UUID, flow_id: uuid.UUID, token: str = service) -> Any:
        variables = {
            "input": {"sessionId": str(session_id), "flowId": str(flow_id), "confidence": 0.85}
        }
        return api.execute(MATCH, variables, token=token)

    bodies = await asyncio.gather(*(match(s, flow) for s in sessions))
    assert all("errors" not in body for body in bodies)
    assert (await flow_counters(sessionmaker, acct.account_id, flow))[0] == 50

    repeat = (await match(sessions[0], flow))["data"]["recordFlowMatch"]
    assert repeat["counted"] is False
    assert repeat["totalUsageCount"] == 50

    assert _codes(await match(sessions[0], archived)) == ["FLOW_ARCHIVED"]
    assert _codes(await match(sessions[0], other_flow)) == ["NOT_FOUND"]
    admin = token_for(acct.account_id, "admin")
    assert _codes(await match(sessions[1], uuid.uuid4(), admin)) == ["NOT_FOUND"]
    for role in ("engineer", "team_admin"):
        assert _codes(await match(sessions[1], flow, token_for(acct.account_id, role))) == [
            "FORBIDDEN"
        ]
    assert _codes(await api.execute(MATCH, {"input": {"sessionId": "x", "flowId": "y"}})) == [
        "UNAUTHENTICATED"
    ]
    assert (await flow_counters(sessionmaker, acct.account_id, flow))[0] == 50
