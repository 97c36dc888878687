"""Rollup answers equal a direct scan, after random writes, updates, deletes and a zone change.

Random accounts in several time zones (with DST, half-hour DST and a date-line zone)
get random flows, sessions and PSA activities, written as the API's unprivileged role
so row-level security and grants bind the triggers. Every analytics function is then
compared with the reference statements that scan the raw tables, over windows that
include DST changes, single days and a whole year. A rebuild must reproduce the
trigger-maintained rows exactly, zero rows pruned alike.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, insert, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.metrics.rows import FlowPeriodStats
from core.metrics.window import Window, last_days, local_midnight, zone_or_utc
from persistence.analytics import (
    domains,
    flows,
    overview_daily,
    psa,
    sessions,
)
from persistence.engine import create_engine, create_sessionmaker
from persistence.models import Account, AiSession, PsaActivityLog, Tree
from persistence.models.rollups import ROLLUP_TABLES
from persistence.operations.roles import drop_app_role, ensure_app_role
from persistence.reader import Reader
from persistence.rollups import finish_build, rebuild_account, rebuild_all
from persistence.tenancy import account_transaction
from tests import reference_scan as reference
from tests.product_role import grant_product_writes

ZONES = ("America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Apia", "UTC")
NOW = datetime(2024, 11, 20, 15, 30, tzinfo=UTC)
FIRST = datetime(2023, 10, 1, tzinfo=UTC)
SPELLINGS = (
    " Network ",
    "network",
    "NETWORK",
    "E-mail",
    "e-mail\t",
    "Printers",
    "printers  ",
    "Active  Directory",
    "active directory",
    "VPN",
    "",
    "   ",
    None,
)
STATUSES = ("active", "paused", "resolved", "escalated", "requesting_escalation", "abandoned")
TIERS = (None, "discovery", "exploring", "guided")
ACTIVITY_TYPES = ("time_entry_posted", "note_posted", "status_updated")
PASSWORD = "rollup-pw"


@dataclass
class Tenant:
    account_id: uuid.UUID
    timezone: str
    flow_ids: list[uuid.UUID] = field(default_factory=list)
    session_ids: list[uuid.UUID] = field(default_factory=list)
    activity_ids: list[uuid.UUID] = field(default_factory=list)
    started: dict[uuid.UUID, datetime] = field(default_factory=dict)


@pytest.fixture
async def app_sessionmaker(
    engine: AsyncEngine, database_url: str
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions as a fresh unprivileged login role with the product's writes (RLS binds
    it, as in production)."""
    name = f"fp_rollup_{uuid.uuid4().hex[:10]}"
    async with engine.begin() as connection:
        await ensure_app_role(connection, name, PASSWORD)
        await grant_product_writes(connection, name)
    url = make_url(database_url).set(username=name, password=PASSWORD)
    app_engine = create_engine(url.render_as_string(hide_password=False))
    yield create_sessionmaker(app_engine)
    await app_engine.dispose()
    async with engine.begin() as connection:
        await drop_app_role(connection, name)


def _instant(rng: random.Random, timezone: str) -> datetime:
    """A random instant, often exactly at (or a microsecond around) a local midnight."""
    moment = FIRST + timedelta(seconds=rng.uniform(0, (NOW - FIRST).total_seconds()))
    if rng.random() < 0.3:
        day = moment.astimezone(zone_or_utc(timezone)).date()
        moment = local_midnight(day, zone_or_utc(timezone)) + timedelta(
            microseconds=rng.choice((-1, 0, 1))
        )
    return moment.astimezone(UTC)


def _session_values(rng: random.Random, tenant: Tenant) -> dict[str, Any]:
    started = _instant(rng, tenant.timezone)
    status = rng.choice(STATUSES)
    resolved_at = None
    if status == "resolved" and rng.random() < 0.9:
        resolved_at = started + timedelta(seconds=rng.uniform(0, 5 * 86400))
    return {
        "session_type": "flowpilot" if rng.random() < 0.9 else "assistant",
        "problem_domain": rng.choice(SPELLINGS),
        "status": status,
        "confidence_tier": rng.choice(TIERS),
        "matched_flow_id": rng.choice([None, *tenant.flow_ids]),
        "match_confidence": None if rng.random() < 0.2 else rng.random(),
        "started_at": started,
        "resolved_at": resolved_at,
        "rating": None if rng.random() < 0.4 else rng.randint(1, 5),
        "psa_ticket_id": rng.choice([None, "", "  ", "T-1", "T-2"]),
    }


def _activity_values(rng: random.Random, tenant: Tenant) -> dict[str, Any]:
    session_id = rng.choice(tenant.session_ids) if rng.random() < 0.9 else None
    kind = rng.choice(ACTIVITY_TYPES)
    created = _instant(rng, tenant.timezone)
    if session_id is not None and rng.random() < 0.8:
        # Most pushes follow their session within days, so sessions span window edges.
        created = tenant.started[session_id] + timedelta(seconds=rng.uniform(0, 3 * 86400))
    hours = None if rng.random() < 0.15 else round(rng.uniform(0, 4), rng.choice((1, 2, 7)))
    return {
        "session_id": session_id,
        "activity_type": kind,
        "hours_logged": hours if kind == "time_entry_posted" else None,
        "psa_ticket_id": "T-1",
        "external_id": uuid.uuid4().hex,
        "created_at": created,
    }


async def _populate(
    sessionmaker: async_sessionmaker[AsyncSession], rng: random.Random
) -> list[Tenant]:
    tenants = [Tenant(uuid.uuid4(), zone) for zone in rng.sample(ZONES, 3)]
    for tenant in tenants:
        async with account_transaction(sessionmaker, tenant.account_id) as session:
            await session.execute(
                insert(Account).values(id=tenant.account_id, name="R", timezone=tenant.timezone)
            )
            for index in range(10):
                flow_id = uuid.uuid4()
                tenant.flow_ids.append(flow_id)
                await session.execute(
                    insert(Tree).values(
                        id=flow_id,
                        account_id=tenant.account_id,
                        name=f"flow {index % 4}",
                        category=rng.choice(SPELLINGS),
                        status=rng.choice(("published", "draft", "archived")),
                    )
                )
        # Sessions in multi-row statements (one trigger run for many rows) and one by one.
        for _batch in range(6):
            rows = []
            for _ in range(rng.choice((1, 40))):
                session_id = uuid.uuid4()
                tenant.session_ids.append(session_id)
                values = _session_values(rng, tenant)
                tenant.started[session_id] = values["started_at"]
                rows.append({"id": session_id, "account_id": tenant.account_id} | values)
            async with account_transaction(sessionmaker, tenant.account_id) as session:
                await session.execute(insert(AiSession).values(rows))
        for _batch in range(5):
            rows = []
            for _ in range(rng.choice((1, 120))):
                activity_id = uuid.uuid4()
                tenant.activity_ids.append(activity_id)
                rows.append(
                    {"id": activity_id, "account_id": tenant.account_id}
                    | _activity_values(rng, tenant)
                )
            async with account_transaction(sessionmaker, tenant.account_id) as session:
                await session.execute(insert(PsaActivityLog).values(rows))
    return tenants


async def _mutate(
    sessionmaker: async_sessionmaker[AsyncSession], rng: random.Random, tenant: Tenant
) -> None:
    """Random updates of every relevant column, and deletes, in single and bulk statements."""
    for _ in range(40):
        async with account_transaction(sessionmaker, tenant.account_id) as session:
            roll = rng.random()
            ids = rng.sample(
                tenant.session_ids, min(len(tenant.session_ids) - 1, rng.choice((1, 8)))
            )
            if roll < 0.55:
                values = _session_values(rng, tenant)
                chosen = dict(rng.sample(sorted(values.items(), key=str), rng.randint(1, 4)))
                await session.execute(
                    update(AiSession).where(AiSession.id.in_(ids)).values(**chosen)
                )
            elif roll < 0.85:
                activity_ids = rng.sample(tenant.activity_ids, min(len(tenant.activity_ids), 5))
                values = _activity_values(rng, tenant)
                values.pop("external_id")
                chosen = dict(rng.sample(sorted(values.items(), key=str), rng.randint(1, 3)))
                await session.execute(
                    update(PsaActivityLog)
                    .where(PsaActivityLog.id.in_(activity_ids))
                    .values(**chosen)
                )
            elif roll < 0.93:
                activity_ids = rng.sample(tenant.activity_ids, min(len(tenant.activity_ids), 2))
                await session.execute(
                    delete(PsaActivityLog).where(PsaActivityLog.id.in_(activity_ids))
                )
                for activity_id in activity_ids:
                    tenant.activity_ids.remove(activity_id)
            else:
                # A session goes with its activities (the foreign key demands it).
                await session.execute(
                    delete(PsaActivityLog).where(PsaActivityLog.session_id.in_(ids))
                )
                await session.execute(delete(AiSession).where(AiSession.id.in_(ids)))
                for session_id in ids:
                    tenant.session_ids.remove(session_id)
                remaining = await session.execute(
                    text("SELECT id FROM psa_activity_log WHERE account_id = :a"),
                    {"a": tenant.account_id},
                )
                tenant.activity_ids = list(remaining.scalars())


def _windows(timezone: str) -> list[Window]:
    ranges = [
        (date(2024, 3, 8), date(2024, 3, 12)),  # US spring forward
        (date(2024, 3, 30), date(2024, 4, 8)),  # EU and Lord Howe changes
        (date(2024, 10, 26), date(2024, 11, 4)),  # EU and US fall back
        (date(2024, 9, 29), date(2024, 9, 29)),  # a single day
        (date(2023, 11, 21), date(2024, 11, 20)),  # a whole year
    ]
    fixed = [Window(first, last, timezone, NOW) for first, last in ranges]
    return fixed + [last_days(days, timezone, NOW) for days in (1, 7, 30, 90)]


Compare = Callable[[AsyncSession, uuid.UUID, Window], Awaitable[None]]


def _same_stats(actual: FlowPeriodStats, expected: FlowPeriodStats) -> None:
    assert (actual.usage, actual.resolved, actual.guided) == (
        expected.usage,
        expected.resolved,
        expected.guided,
    )
    if expected.avg_confidence is None:
        assert actual.avg_confidence is None
    else:
        assert actual.avg_confidence is not None
        assert math.isclose(actual.avg_confidence, expected.avg_confidence, rel_tol=1e-12)


async def _same_previews(
    reader: Reader, account_id: uuid.UUID, window: Window, keys: list[str]
) -> None:
    """Previews read with their statistics: the previews, and the statistics by id."""
    for per_key in (2, None):
        previews = await flows.flows_by_domain_keys(reader, account_id, keys, per_key)
        with_stats = await flows.flows_with_stats_by_domain_keys(
            reader, account_id, window, keys, per_key
        )
        assert {key: [row for row, _ in pairs] for key, pairs in with_stats.items()} == previews
        ids = [row.id for rows in previews.values() for row in rows]
        by_id = await flows.flow_stats_by_ids(reader, account_id, window, ids)
        for pairs in with_stats.values():
            for row, stats in pairs:
                assert stats == by_id.get(row.id, FlowPeriodStats())


async def _compare(session: AsyncSession, account_id: uuid.UUID, window: Window) -> None:
    """The rollup statements (through the driver, as a snapshot runs them) against the
    reference statements on raw rows (through the session), in one transaction."""
    reader = await Reader.in_session(session)
    expected_set = await reference.domain_set(session, account_id, window)
    actual_set, set_counts = await domains.domain_set_with_counts(reader, account_id, window)
    assert actual_set == expected_set
    keys = [row.key for row in expected_set.domains] + ["no such domain"]
    expected_counts = await reference.session_counts_by_domain(session, account_id, window, keys)
    assert await sessions.session_counts_by_domain(reader, account_id, window, keys) == (
        expected_counts
    )
    # The domain set's own counts: those of its domains with sessions.
    assert set_counts == expected_counts
    await _same_previews(reader, account_id, window, keys)
    assert await sessions.session_totals(
        reader, account_id, window
    ) == await reference.session_totals(session, account_id, window)
    assert await psa.psa_totals(reader, account_id, window) == await reference.psa_totals(
        session, account_id, window
    )
    assert await psa.psa_daily(reader, account_id, window) == await reference.psa_daily(
        session, account_id, window
    )
    assert await psa.push_funnel(reader, account_id, window) == await reference.push_funnel(
        session, account_id, window
    )
    assert await overview_daily.overview_daily(
        reader, account_id, window
    ) == await reference.overview_daily(session, account_id, window)

    actual_flows = dict(
        (row.id, (row, stats))
        for row, stats in await flows.flows_with_stats(reader, account_id, window)
    )
    expected_flows = dict(
        (row.id, (row, stats))
        for row, stats in await reference.flows_with_stats(session, account_id, window)
    )
    assert actual_flows.keys() == expected_flows.keys()
    for flow_id, (row, stats) in expected_flows.items():
        assert actual_flows[flow_id][0] == row
        _same_stats(actual_flows[flow_id][1], stats)
    ids = list(expected_flows)
    actual_by_id = await flows.flow_stats_by_ids(reader, account_id, window, ids)
    expected_by_id = await reference.flow_stats_by_ids(session, account_id, window, ids)
    assert actual_by_id.keys() == expected_by_id.keys()
    for flow_id, stats in expected_by_id.items():
        _same_stats(actual_by_id[flow_id], stats)


async def _snapshot(sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID) -> Any:
    tables = {}
    async with account_transaction(sessionmaker, account_id) as session:
        for table in ROLLUP_TABLES:
            result = await session.execute(
                text(f"SELECT * FROM {table} WHERE account_id = :a ORDER BY 1, 2, 3, 4"),
                {"a": account_id},
            )
            tables[table] = sorted(tuple(row) for row in result)
    return tables


async def _building(
    sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID
) -> list[uuid.UUID | None]:
    """The account's build watermark: [] when no build is under way."""
    async with account_transaction(sessionmaker, account_id) as session:
        found = await session.execute(
            text("SELECT built_through FROM rollup_builds WHERE account_id = :a"), {"a": account_id}
        )
        return list(found.scalars())


async def _check_all(sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant) -> int:
    async with account_transaction(sessionmaker, tenant.account_id) as session:
        timezone = (
            await session.execute(
                text("SELECT timezone FROM accounts WHERE id = :a"), {"a": tenant.account_id}
            )
        ).scalar_one()
        windows = _windows(timezone)
        for window in windows:
            await _compare(session, tenant.account_id, window)
    return len(windows)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_rollups_answer_exactly_what_a_direct_scan_answers(
    seed: int,
    app_sessionmaker: async_sessionmaker[AsyncSession],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rng = random.Random(seed)
    tenants = await _populate(app_sessionmaker, rng)
    for tenant in tenants:
        assert await _check_all(app_sessionmaker, tenant) == 9

    for tenant in tenants:
        await _mutate(app_sessionmaker, rng, tenant)
    # One account moves to another zone: its days (and so its rollups) shift.
    moved = tenants[0]
    new_zone = "Asia/Kolkata"
    async with account_transaction(app_sessionmaker, moved.account_id) as session:
        await session.execute(
            update(Account).where(Account.id == moved.account_id).values(timezone=new_zone)
        )
    # The change only starts a build (its sums emptied); chunks of 7 sessions finish it:
    # one per 7 sessions, and a last one for the rest (empty when 7 divides the count).
    emptied = await _snapshot(sessionmaker, moved.account_id)
    assert emptied["rollup_session_blocks"] == emptied["rollup_psa_days"] == []
    assert await _building(sessionmaker, moved.account_id) == [None]
    build = await finish_build(app_sessionmaker, moved.account_id, chunk=7)
    assert build.chunks == len(moved.session_ids) // 7 + 1
    assert await _building(sessionmaker, moved.account_id) == []
    for tenant in tenants:
        assert await _check_all(app_sessionmaker, tenant) == 9

    # The triggers left exactly what a rebuild from scratch produces.
    before = {
        tenant.account_id: await _snapshot(sessionmaker, tenant.account_id) for tenant in tenants
    }
    assert any(rows for rows in before[moved.account_id].values())
    for tenant in tenants:
        await rebuild_account(sessionmaker, tenant.account_id)
        assert await _snapshot(sessionmaker, tenant.account_id) == before[tenant.account_id]


async def test_rebuild_all_restores_rollups_that_were_lost(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rng = random.Random(7)
    tenants = await _populate(sessionmaker, rng)
    before = {
        tenant.account_id: await _snapshot(sessionmaker, tenant.account_id) for tenant in tenants
    }
    for tenant in tenants:
        async with account_transaction(sessionmaker, tenant.account_id) as session:
            for table in ROLLUP_TABLES:
                await session.execute(
                    text(f"DELETE FROM {table} WHERE account_id = :a"), {"a": tenant.account_id}
                )
        assert not any((await _snapshot(sessionmaker, tenant.account_id)).values())
    assert await rebuild_all(sessionmaker) >= len(tenants)
    for tenant in tenants:
        assert await _snapshot(sessionmaker, tenant.account_id) == before[tenant.account_id]
