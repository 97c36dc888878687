"""Flow Quality ranked in PostgreSQL: its float8 score is bit-identical to the Python score,
so every list orders, pages and picks exactly as the Python reference ranking does."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.metrics import flow_ranking
from core.metrics.flow_ranking import RankedFlow
from core.metrics.formulas import Attention
from core.metrics.window import Window, last_days
from persistence.analytics.flow_ranking import (
    FlowFilter,
    FlowPick,
    rank_flows,
    scores_at,
)
from persistence.analytics.flows import flows_with_stats
from persistence.models import AiSession, Tree
from persistence.reader import Reader
from persistence.tenancy import account_transaction
from tests.factories import AccountBuilder

DAY = timedelta(days=1)
# (name, sessions as (status, tier), last matched this long before now; None: never).
TRICKY: list[tuple[str, list[tuple[str, str | None]], timedelta | None]] = [
    ("thirds", [("resolved", "guided"), ("escalated", "guided"), ("active", None)], DAY),
    ("two thirds", [("resolved", None), ("resolved", "guided"), ("escalated", None)], DAY / 3),
    (
        "sevenths",
        [("resolved", "guided"), ("resolved", None), ("resolved", "guided")]
        + [("abandoned", "guided"), ("abandoned", None)] * 2,
        DAY / 7,
    ),
    ("fractional days", [("resolved", None)], timedelta(days=12, seconds=12345, microseconds=7)),
    ("just under stale", [("escalated", "guided")], 30 * DAY - timedelta(microseconds=1)),
    ("exactly stale", [("resolved", "guided")], 30 * DAY),
    ("just over stale", [("resolved", None)], 30 * DAY + timedelta(microseconds=1)),
    ("just under horizon", [("resolved", "guided")], 90 * DAY - timedelta(microseconds=1)),
    ("exactly horizon", [("resolved", None)], 90 * DAY),
    ("just over horizon", [("resolved", "guided")], 90 * DAY + timedelta(microseconds=1)),
    ("past horizon", [("resolved", "guided")], 100 * DAY),
    ("just future", [("resolved", None)], -timedelta(microseconds=1)),
    ("never matched", [("resolved", "guided")], None),
    ("never used", [], timedelta(hours=7, microseconds=333333)),
    ("future", [("escalated", None)], -timedelta(hours=5)),
    ("just now", [("resolved", "guided")] * 2 + [("escalated", None)], timedelta(0)),
]
# Thirds and ninths at seeded fractional days: any reordering of the float operations
# shows up in some of them.
_RNG = random.Random(7)
TRICKY += [
    (
        f"fraction {index}",
        [("resolved", "guided")] * (index % 3) + [("escalated", None)] * (1 + index % 2),
        timedelta(microseconds=_RNG.randrange(90 * 86_400_000_000)),
    )
    for index in range(60)
]


async def _insert(
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: uuid.UUID,
    flows: list[dict[str, Any]],
    sessions: list[dict[str, Any]],
) -> None:
    async with account_transaction(sessionmaker, account_id) as session:
        await session.execute(insert(Tree), flows)
        if sessions:
            await session.execute(insert(AiSession), sessions)


def _flow(account_id: uuid.UUID, name: str, last: datetime | None) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "account_id": account_id, "name": name, "last_matched_at": last}


def _session(
    account_id: uuid.UUID,
    flow_id: uuid.UUID,
    at: datetime,
    status: str,
    tier: str | None,
    confidence: float | None = None,
) -> dict[str, Any]:
    return {
        "match_confidence": confidence,
        "id": uuid.uuid4(),
        "account_id": account_id,
        "matched_flow_id": flow_id,
        "started_at": at,
        "status": status,
        "confidence_tier": tier,
    }


async def _python_ranking(
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: uuid.UUID,
    window: Window,
    now: datetime,
) -> dict[uuid.UUID, RankedFlow]:
    async with account_transaction(sessionmaker, account_id) as session:
        rows = await flows_with_stats(await Reader.in_session(session), account_id, window)
    return {row.id: RankedFlow.of(row, stats, now) for row, stats in rows}


async def _sql_scores(
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: uuid.UUID,
    window: Window,
    now: datetime,
) -> dict[uuid.UUID, tuple[float, bool]]:
    async with account_transaction(sessionmaker, account_id) as session:
        return await scores_at(await Reader.in_session(session), account_id, window, now)


async def test_sql_score_and_flag_equal_the_python_ones_exactly(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    account = await AccountBuilder.create(sessionmaker)
    account_id = account.account_id
    # Microseconds in `now`: every difference to it has a fractional second.
    now = datetime.now(UTC).replace(microsecond=123457)
    flows: list[dict[str, Any]] = []
    sessions: list[dict[str, Any]] = []
    for name, plan, ago in TRICKY:
        flow = _flow(account_id, name, None if ago is None else now - ago)
        flows.append(flow)
        at = now - 2 * DAY
        sessions += [_session(account_id, flow["id"], at, *session) for session in plan]
    await _insert(sessionmaker, account_id, flows, sessions)
    window = last_days(30, "UTC", now)

    python = await _python_ranking(sessionmaker, account_id, window, now)
    sql = await _sql_scores(sessionmaker, account_id, window, now)
    assert python.keys() == sql.keys()
    names = {flow["id"]: flow["name"] for flow in flows}
    for flow_id, ranked in python.items():
        quality, flagged = sql[flow_id]
        assert quality == ranked.quality, names[flow_id]
        assert flagged == ranked.needs_attention, names[flow_id]
    by_name = {names[flow_id]: ranked for flow_id, ranked in python.items()}
    # The fixture reaches the cases it names.
    assert by_name["thirds"].success_rate == 1 / 3
    assert by_name["two thirds"].guided_rate == 1 / 3
    assert by_name["exactly stale"].reasons == (Attention.STALE,)
    assert by_name["just under stale"].reasons == (Attention.LOW_SUCCESS_RATE,)
    assert by_name["never matched"].reasons == (Attention.STALE,)
    assert by_name["future"].reasons == (Attention.LOW_SUCCESS_RATE,)


# Every list the tab can ask for, in the Python reference's terms.
def _reference(pick: FlowPick, flows: list[RankedFlow]) -> list[RankedFlow]:
    if pick.where is FlowFilter.USED:
        flows = [flow for flow in flows if flow.stats.usage >= 1]
    elif pick.where is FlowFilter.FLAGGED:
        flows = [flow for flow in flows if flow.needs_attention]
    ordered = flow_ranking.sort_flows(flows, pick.sort, pick.descending)
    end = None if pick.first is None else pick.offset + pick.first
    return ordered[pick.offset : end]


PICKS = [
    FlowPick(where, sort, descending, first, offset)
    for where in FlowFilter
    for sort in flow_ranking.FlowSort
    for descending in (True, False)
    for first, offset in ((None, 0), (5, 0), (7, 11), (0, 3), (None, 150))
]


@pytest.mark.parametrize("seed", [1, 2])
async def test_every_list_orders_pages_and_counts_as_the_python_reference(
    sessionmaker: async_sessionmaker[AsyncSession], seed: int
) -> None:
    """Random flows with many ties (few names, few counts, shared last matches)."""
    rng = random.Random(seed)
    account = await AccountBuilder.create(sessionmaker)
    account_id = account.account_id
    now = datetime.now(UTC)
    shared = [now - timedelta(microseconds=rng.randrange(120 * 86_400_000_000)) for _ in range(6)]
    flows: list[dict[str, Any]] = []
    sessions: list[dict[str, Any]] = []
    for _ in range(160):
        last = rng.choice([None, *shared, now - 30 * DAY, now + DAY])
        name = rng.choice(["a", "B", "b", "Ä", "a b", "z"])
        flow = _flow(account_id, name, last)
        flows.append(flow)
        for _ in range(rng.choice([0, 0, 1, 2, 3, 6])):
            status = rng.choice(["resolved", "escalated", "active"])
            tier = rng.choice(["guided", None])
            at = now - timedelta(days=rng.randrange(1, 20))
            confidence = rng.choice([None, 0.3, 0.77, 0.9])
            sessions.append(_session(account_id, flow["id"], at, status, tier, confidence))
    await _insert(sessionmaker, account_id, flows, sessions)
    window = last_days(30, "UTC", now)

    python = list((await _python_ranking(sessionmaker, account_id, window, now)).values())
    async with account_transaction(sessionmaker, account_id) as session:
        picked = await rank_flows(await Reader.in_session(session), account_id, window, now, PICKS)
    for pick, got in zip(PICKS, picked, strict=True):
        expected = _reference(pick, python)
        assert [row.id for row, _stats in got.rows] == [flow.row.id for flow in expected], pick
        assert [stats for _row, stats in got.rows] == [flow.stats for flow in expected], pick
        assert got.total == len(_reference(FlowPick(pick.where, pick.sort, True, None), python))
