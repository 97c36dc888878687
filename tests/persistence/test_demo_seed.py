"""The demo seed: the promised volumes, deterministic, and flow counters that agree with it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.engine import create_engine, create_sessionmaker
from persistence.operations.demo_seed import (
    DEMO_ACCOUNT_ID,
    DEMO_TEAM_ADMIN_ID,
    generate,
    seed_demo,
)
from persistence.operations.migrate import upgrade_engine
from tests.conftest import create_database, drop_database

NOW = datetime(2026, 3, 19, 15, 30, tzinfo=UTC)

# Everything a dashboard would show, plus every id: equal fingerprints mean equal data.
_FINGERPRINT = (
    "SELECT status, confidence_tier, count(*), count(matched_flow_id), count(psa_ticket_id), "
    "  sum(rating), round(sum(extract(epoch FROM resolved_at - started_at))::numeric, 0), "
    "  md5(string_agg(id::text || started_at::text, ',' ORDER BY id)) "
    "FROM ai_sessions GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST",
    "SELECT id, name, category, status, usage_count, success_rate, last_matched_at "
    "FROM trees ORDER BY id",
    "SELECT activity_type, count(*), sum(hours_logged), "
    "  md5(string_agg(external_id || psa_ticket_id, ',' ORDER BY external_id)) "
    "FROM psa_activity_log GROUP BY 1 ORDER BY 1",
    "SELECT id, email, role FROM users ORDER BY id",
)


@pytest.fixture(scope="module")
async def seeded(server_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two fresh databases, each seeded with seed 7 at the same pinned clock."""
    urls = [await create_database(server_url, prefix="fp_demo") for _ in range(2)]
    engines = [create_engine(url) for url in urls]
    try:
        for engine in engines:
            await upgrade_engine(engine)
        await seed_demo(engines[0], 7, now=NOW)
        await seed_demo(create_sessionmaker(engines[1]), 7, now=NOW)  # the other entry point
        yield engines[0], engines[1]
    finally:
        for engine in engines:
            await engine.dispose()
        for url in urls:
            await drop_database(url)


async def _rows(engine: AsyncEngine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with engine.connect() as connection:
        return [tuple(row) for row in (await connection.execute(text(sql), params)).all()]


async def test_same_seed_gives_the_same_data(seeded: tuple[AsyncEngine, AsyncEngine]) -> None:
    first, second = seeded
    for sql in _FINGERPRINT:
        assert await _rows(first, sql) == await _rows(second, sql)


def test_another_seed_gives_other_data() -> None:
    assert generate(7, NOW).sessions == generate(7, NOW).sessions
    assert generate(7, NOW).sessions != generate(8, NOW).sessions


async def test_volumes_and_shape(seeded: tuple[AsyncEngine, AsyncEngine]) -> None:
    engine = seeded[0]
    [(name, zone)] = await _rows(engine, "SELECT name, timezone FROM accounts")
    assert (name, zone) == ("Northwind IT Services", "America/New_York")
    assert await _rows(
        engine, "SELECT session_type, count(*) FROM ai_sessions GROUP BY 1 ORDER BY 1"
    ) == [("assistant", 800), ("flowpilot", 5000)]
    assert await _rows(engine, "SELECT status, count(*) FROM trees GROUP BY 1 ORDER BY 1") == [
        ("archived", 3),
        ("draft", 4),
        ("published", 33),
    ]
    assert await _rows(engine, "SELECT count(*) FROM trees WHERE category IS NULL") == [(2,)]
    assert await _rows(engine, "SELECT role FROM users WHERE id = :id", id=DEMO_TEAM_ADMIN_ID) == [
        ("team_admin",)
    ]
    assert await _rows(engine, "SELECT DISTINCT account_id FROM ai_sessions") == [
        (DEMO_ACCOUNT_ID,)
    ]
    [(earliest, latest)] = await _rows(
        engine, "SELECT min(started_at), max(started_at) FROM ai_sessions"
    )
    assert NOW - timedelta(days=121) < earliest and latest < NOW
    # About 70% of FlowPilot sessions are linked to a ticket; most start in business hours.
    [(linked, business)] = await _rows(
        engine,
        "SELECT avg((psa_ticket_id IS NOT NULL)::int), "
        "  avg((extract(hour FROM started_at AT TIME ZONE 'America/New_York') "
        "    BETWEEN 8 AND 17)::int) "
        "FROM ai_sessions WHERE session_type = 'flowpilot'",
    )
    assert 0.65 < linked < 0.75
    assert business > 0.85
    # Each PSA push is logged once.
    assert await _rows(
        engine,
        "SELECT count(*) - count(DISTINCT (provider, activity_type, external_id)) "
        "FROM psa_activity_log",
    ) == [(0,)]
    # Flows only ever match FlowPilot sessions, and domains without flows get none.
    assert await _rows(
        engine,
        "SELECT count(*) FROM ai_sessions WHERE matched_flow_id IS NOT NULL "
        "AND (session_type = 'assistant' OR problem_domain ILIKE 'backup%')",
    ) == [(0,)]


async def test_flow_counters_agree_with_sessions(seeded: tuple[AsyncEngine, AsyncEngine]) -> None:
    window = NOW - timedelta(days=90)
    rows = await _rows(
        seeded[0],
        "SELECT t.name, t.usage_count, count(s.id), t.last_matched_at, max(s.started_at), "
        "  t.success_rate, "
        "  count(*) FILTER (WHERE s.started_at >= :window AND s.status = 'resolved'), "
        "  count(*) FILTER (WHERE s.started_at >= :window) "
        "FROM trees t LEFT JOIN ai_sessions s ON s.matched_flow_id = t.id "
        "GROUP BY t.id ORDER BY t.name",
        window=window,
    )
    assert len(rows) == 40
    assert sum(row[1] for row in rows) > 3000
    never = {row[0] for row in rows if row[1] == 0}
    assert {"Firewall Rule Request", "Printer Driver Deployment", "ISP Outage Triage"} <= never
    for name, usage, matched, last, latest, rate, resolved, recent in rows:
        assert usage == matched, name
        assert last == latest, name
        if recent == 0:
            assert rate is None, name
        else:
            assert rate == pytest.approx(resolved / recent), name


async def test_second_run_does_nothing(seeded: tuple[AsyncEngine, AsyncEngine]) -> None:
    summary = await seed_demo(seeded[0], 8)
    assert not summary.created
    assert (summary.flows, summary.flowpilot_sessions) == (40, 5000)
    assert "already present" in summary.describe()
