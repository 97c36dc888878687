"""Randomized exactness: writes of every kind interleaved with reads of every tab.

Each read goes to the cached app, then at once (no write in between) to an uncached app
on the same database: the answers must be equal (but for `asOf`, the instant of the
execution a hit repeats). The first read after every write must miss: a write is seen
by the very next request after its commit. Fixed seed, so a failure replays.
"""

from __future__ import annotations

import os
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.engine import asyncpg_dsn
from persistence.rollups import finish_build
from persistence.tenancy import account_transaction
from queries import tab_query
from tests.cache.support import Outcomes, without_as_of
from tests.factories import AccountBuilder
from tests.graphql_client import ApiClient, running_app, settings_for_tests, token_for

SEED = int(os.environ.get("CACHE_EXACTNESS_SEED", "20261128"))
STEPS = int(os.environ.get("CACHE_EXACTNESS_STEPS", "240"))
DOMAINS = ["Email", "email ", "VPN", "Printers", None]
TIERS = ["guided", "exploring", "discovery", None]
TABS = {tab: tab_query(tab) for tab in ("overview", "coverage", "flow-quality", "psa")}


def _now() -> datetime:
    return datetime.now(UTC)


class World:
    """One account's rows and the writes that change them."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        database_url: str,
        builder: AccountBuilder,
        rng: random.Random,
    ) -> None:
        self.sm = sessionmaker
        self.url = database_url
        self.builder = builder
        self.rng = rng
        self.flows: list[uuid.UUID] = []

    async def sql(self, statement: str, **values: Any) -> None:
        async with account_transaction(self.sm, self.builder.account_id) as session:
            await session.execute(text(statement), {"a": self.builder.account_id, **values})

    def _when(self) -> datetime:
        return _now() - timedelta(hours=self.rng.uniform(0.1, 24 * 75))

    async def insert_session(self) -> None:
        rng = self.rng
        status = rng.choice(["active", "resolved", "escalated", "abandoned"])
        started = self._when()
        await self.builder.session(
            started,
            domain=rng.choice(DOMAINS),
            status=status,
            tier=rng.choice(TIERS),
            flow_id=rng.choice([None, *self.flows]),
            confidence=rng.choice([None, round(rng.random(), 2)]),
            resolved_at=started + timedelta(minutes=rng.randint(1, 90))
            if status == "resolved"
            else None,
            rating=rng.choice([None, 1, 3, 5]),
            ticket=rng.choice([None, str(rng.randint(1000, 1020))]),
        )

    async def resolve_session(self) -> None:
        await self.sql(
            "UPDATE ai_sessions SET status = 'resolved', resolved_at = started_at + "
            "interval '17 minutes' WHERE id = (SELECT id FROM ai_sessions WHERE account_id = :a "
            "AND status <> 'resolved' ORDER BY id LIMIT 1)"
        )

    async def delete_session(self) -> None:
        await self.sql(
            "DELETE FROM ai_sessions WHERE id = (SELECT id FROM ai_sessions s "
            "WHERE account_id = :a AND NOT EXISTS (SELECT 1 FROM psa_activity_log p "
            "WHERE p.session_id = s.id) ORDER BY id DESC LIMIT 1)"
        )

    async def copy_sessions(self) -> None:
        rows = [
            (uuid.uuid4(), self.builder.account_id, "flowpilot", self.rng.choice(DOMAINS),
             "escalated", self._when())
            for _ in range(self.rng.randint(1, 4))
        ]  # fmt: skip
        connection = await asyncpg.connect(asyncpg_dsn(self.url))
        try:
            await connection.copy_records_to_table(
                "ai_sessions",
                records=rows,
                columns=["id", "account_id", "session_type", "problem_domain", "status",
                         "started_at"],
            )  # fmt: skip
        finally:
            await connection.close()

    async def insert_flow(self) -> None:
        name = f"Flow {len(self.flows)}"
        category = self.rng.choice(["Email", "VPN", "Printers", "Identity"])
        self.flows.append(await self.builder.flow(name, category))

    async def rename_flow(self) -> None:
        if self.flows:
            await self.sql(
                "UPDATE trees SET name = name || '*' WHERE id = :f", f=self.rng.choice(self.flows)
            )

    async def recategorize_flow(self) -> None:
        if self.flows:
            category = self.rng.choice(["Email", "VPN", "Network"])
            await self.sql(
                "UPDATE trees SET category = :c WHERE id = :f",
                c=category,
                f=self.rng.choice(self.flows),
            )

    async def archive_flow(self) -> None:
        if self.flows:
            status = self.rng.choice(["archived", "published", "draft"])
            await self.sql(
                "UPDATE trees SET status = :s WHERE id = :f",
                s=status,
                f=self.rng.choice(self.flows),
            )

    async def flow_counters(self) -> None:
        if self.flows:
            await self.sql(
                "UPDATE trees SET usage_count = usage_count + 1, success_rate = :r, "
                "last_matched_at = now() WHERE id = :f",
                r=round(self.rng.random(), 2),
                f=self.rng.choice(self.flows),
            )

    async def psa_activity(self) -> None:
        kind = self.rng.choice(["time_entry_posted", "note_posted", "status_updated"])
        async with account_transaction(self.sm, self.builder.account_id) as session:
            linked = (
                await session.execute(
                    text(
                        "SELECT id FROM ai_sessions WHERE account_id = :a "
                        "AND psa_ticket_id IS NOT NULL ORDER BY random() LIMIT 1"
                    ),
                    {"a": self.builder.account_id},
                )
            ).scalar_one_or_none()
        await self.builder.activity(
            kind,
            self._when(),
            session_id=linked,
            hours=round(self.rng.uniform(0.1, 3), 2) if kind == "time_entry_posted" else None,
        )

    async def time_zone(self) -> None:
        zone = self.rng.choice(["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"])
        await self.sql("UPDATE accounts SET timezone = :z WHERE id = :a", z=zone)
        # The change starts a build, which a running server's background job finishes.
        await finish_build(self.sm, self.builder.account_id)

    def writes(self) -> dict[str, Callable[[], Awaitable[None]]]:
        return {
            "session insert": self.insert_session,
            "session resolve": self.resolve_session,
            "session delete": self.delete_session,
            "session COPY": self.copy_sessions,
            "flow insert": self.insert_flow,
            "flow rename": self.rename_flow,
            "flow category": self.recategorize_flow,
            "flow status": self.archive_flow,
            "flow counters": self.flow_counters,
            "psa activity": self.psa_activity,
            "time zone": self.time_zone,
        }


def _reads(rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """A small pool of tab requests, so the same ones come back (as dashboards do)."""
    today = date.today()
    pool: list[tuple[str, dict[str, Any]]] = []
    for tab in TABS:
        for period in ("LAST_7_DAYS", "LAST_30_DAYS", "LAST_90_DAYS"):
            variables: dict[str, Any] = {"period": period}
            if tab in ("overview", "psa") and rng.random() < 0.5:
                variables["compareTo"] = "PREVIOUS_PERIOD"
            if tab == "flow-quality" and rng.random() < 0.5:
                variables.update(sort=rng.choice(["USAGE", "SUCCESS_RATE"]), direction="ASC")
            pool.append((tab, variables))
        start = today - timedelta(days=rng.randint(10, 60))
        ranged = {"range": {"from": start.isoformat(), "to": (start + timedelta(9)).isoformat()}}
        pool.append((tab, ranged))
    return pool


# Recency decays linearly over 90 days from the request's `now` (formulas.recency_score):
# two executions a few milliseconds apart differ there by ~1e-10 per ms, and a hit keeps
# the values of its `asOf` (at most ANALYTICS_CACHE_MAX_AGE_S old: < 1e-5). Everything
# else must be equal to the last digit.
NOW_DEPENDENT = ("recencyScore", "qualityScore")
NOW_TOLERANCE = 1e-4


def differences(one: Any, two: Any, path: str = "") -> list[str]:
    """Where two answers differ: exact, but for the now-dependent scores."""
    if isinstance(one, dict) and isinstance(two, dict):
        keys = sorted(set(one) | set(two))
        return [d for k in keys for d in differences(one.get(k), two.get(k), f"{path}.{k}")]
    if isinstance(one, list) and isinstance(two, list) and len(one) == len(two):
        pairs = enumerate(zip(one, two, strict=True))
        return [d for i, (a, b) in pairs for d in differences(a, b, f"{path}[{i}]")]
    if (
        isinstance(one, float)
        and isinstance(two, float)
        and any(name in path for name in NOW_DEPENDENT)
    ):
        return [] if abs(one - two) <= NOW_TOLERANCE else [f"{path}: {one!r} != {two!r}"]
    return [] if one == two else [f"{path}: {one!r} != {two!r}"]


async def _read(client: ApiClient, token: str, tab: str, variables: dict[str, Any]) -> Any:
    return without_as_of(await client.data(TABS[tab], variables, token=token))


async def test_every_cached_answer_equals_a_fresh_execution(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    rng = random.Random(SEED)
    builder = await AccountBuilder.create(sessionmaker)
    world = World(sessionmaker, database_url, builder, rng)
    for _ in range(3):
        await world.insert_flow()
    for _ in range(12):
        await world.insert_session()
    token = token_for(builder.account_id)
    writes = world.writes()
    pool = _reads(rng)
    done: Counter[str] = Counter()
    hits = misses = 0
    # No account budget here: the uncached app executes every read at full cost.
    cached_settings = settings_for_tests(database_url, response_cache=True, rate_limit_cost_per_s=0)
    fresh_settings = settings_for_tests(database_url, rate_limit_cost_per_s=0)
    async with running_app(cached_settings) as cached, running_app(fresh_settings) as fresh:
        wrote = False
        for _ in range(STEPS):
            if rng.random() < 0.25:
                kind = rng.choice(list(writes))
                await writes[kind]()
                done[kind] += 1
                wrote = True
                continue
            tab, variables = rng.choice(pool)
            counts = Outcomes()
            served = await _read(cached, token, tab, variables)
            hit = counts.since("hit") == 1
            assert not (wrote and hit), f"a hit right after a write ({tab} {variables})"
            wrote = False
            expected = await _read(fresh, token, tab, variables)
            wrong = differences(served, expected)
            assert not wrong, (tab, variables, hit, wrong[:5])
            hits += hit
            misses += not hit
    print(
        f"\nexactness: seed {SEED}, {hits + misses} reads compared "
        f"({hits} served from the cache, {misses} executed), {sum(done.values())} writes: "
        + ", ".join(f"{kind} {n}" for kind, n in sorted(done.items()))
    )
    assert set(done) == set(writes)
    assert hits >= 20 and misses >= 20
