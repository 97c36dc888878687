"""`python -m bench generate`: build a scale's dataset with COPY, then make it consistent.

The loading connection runs with `session_replication_role = replica`, so no trigger
(foreign keys, rollup maintenance) fires per row; secondary indexes are dropped while
the tables fill and rebuilt afterwards. Then the flows' lifetime counters are computed
from the sessions, the rollups (when the schema has them) are rebuilt exactly, and the
tables are vacuumed and analysed, as a long-running database would be.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import numpy as np

from bench.database import bench_database_url, database_exists, migrate, recreate_database
from bench.dataset import (
    PSA_COLUMNS,
    SESSION_COLUMNS,
    TREE_COLUMNS,
    USER_COLUMNS,
    AccountData,
    Counters,
    generate_account,
)
from bench.scales import SCALES, Scale
from persistence.engine import asyncpg_dsn, create_engine, create_sessionmaker

CHUNK = 100_000
LOADED_TABLES = ("ai_sessions", "psa_activity_log", "trees", "users")
SCALE_TAGS = {"XS": 0xB0, "S": 0xB1, "M": 0xB2, "L": 0xB3}

# Lifetime counters as the product keeps them: every match counts; the success rate covers
# matched sessions that started in the last 90 days.
_TREE_COUNTERS = """
UPDATE trees t
SET usage_count = c.matches, last_matched_at = c.last_match, success_rate = c.rate
FROM (
    SELECT matched_flow_id AS id, count(*) AS matches, max(started_at) AS last_match,
           (count(*) FILTER (WHERE status = 'resolved' AND started_at >= $1))::float8
               / nullif(count(*) FILTER (WHERE started_at >= $1), 0) AS rate
    FROM ai_sessions WHERE matched_flow_id IS NOT NULL GROUP BY matched_flow_id
) c
WHERE c.id = t.id
"""

_SECONDARY_INDEXES = """
SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = $1::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
"""


@dataclass
class GenerationReport:
    scale: str
    seed: int
    database: str
    accounts: int = 0
    sessions: int = 0
    activities: int = 0
    flows: int = 0
    seconds_total: float = 0.0
    seconds_load: float = 0.0
    seconds_indexes: float = 0.0
    seconds_counters: float = 0.0
    seconds_rollups: float = 0.0
    seconds_vacuum: float = 0.0
    rollups_rebuilt: bool = False
    database_bytes: int = 0
    anchor_day: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def _timestamp_codec(connection: asyncpg.Connection) -> None:
    """timestamptz as integer microseconds since 2000-01-01, on the loading connection only."""
    await connection.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        format="tuple",
        encoder=lambda value: (value,),
        decoder=lambda value: value[0],
    )


async def _loader_connection(dsn: str) -> asyncpg.Connection:
    connection = await asyncpg.connect(dsn)
    await connection.execute("SET session_replication_role = replica")
    await connection.execute("SET synchronous_commit = off")
    await _timestamp_codec(connection)
    return connection


async def _drop_secondary_indexes(connection: asyncpg.Connection) -> list[str]:
    definitions: list[str] = []
    for table in LOADED_TABLES:
        for row in await connection.fetch(_SECONDARY_INDEXES, table):
            definitions.append(row["definition"])
            await connection.execute(f'DROP INDEX "{row["name"]}"')
    return definitions


_WHOLE_ACCOUNT = 2**31 - 1
"""A chunk size no account reaches (rollup_build_step takes an integer)."""


async def _rebuild_rollups(url: str) -> bool:
    """Rebuild every account's rollups when this schema has them (exact after a bulk load)."""
    if importlib.util.find_spec("persistence.rollups") is None:
        return False
    module = importlib.import_module("persistence.rollups")
    rebuild_all: Callable[..., Any] | None = getattr(module, "rebuild_all", None)
    if rebuild_all is None:
        return False
    engine = create_engine(url, pool_size=1, max_overflow=0, statement_timeout_ms=0)
    try:
        # One chunk per account: nobody else writes to a freshly loaded bench database, and
        # a single set-based chunk builds the largest L account in minutes, not hours.
        await rebuild_all(create_sessionmaker(engine), chunk=_WHOLE_ACCOUNT)
    finally:
        await engine.dispose()
    return True


def _weights(scale: Scale, seed: int) -> list[float]:
    rng = np.random.default_rng([seed, 999_999])
    others = scale.accounts - len(scale.named)
    return [float(value) for value in rng.lognormal(0.0, 1.0, others)]


async def generate(
    scale_name: str,
    *,
    seed: int = 1,
    database_url: str | None = None,
    anchor: date | None = None,
    log: Callable[[str], None] = print,
) -> GenerationReport:
    """Generate `scale_name` into `database_url` (default: recreate the scale's bench DB)."""
    scale = SCALES[scale_name]
    url = bench_database_url(scale_name, database_url)
    started = time.perf_counter()
    if database_url is None or not await database_exists(url):
        await recreate_database(url)
    await migrate(url)
    dsn = asyncpg_dsn(url)
    report = GenerationReport(scale_name, seed, url.rsplit("/", 1)[-1])
    last_day = (anchor or datetime.now(UTC).date()) - timedelta(days=1)
    report.anchor_day = last_day.isoformat()
    specs = scale.account_specs(_weights(scale, seed))

    connection = await _loader_connection(dsn)
    try:
        if await connection.fetchval("SELECT count(*) FROM accounts"):
            raise SystemExit(f"{report.database} already has accounts; generate into an empty one")
        indexes = await _drop_secondary_indexes(connection)
        queue: asyncio.Queue[tuple[str, tuple[str, ...], list[tuple[Any, ...]]] | None]
        queue = asyncio.Queue(maxsize=2)

        async def produce() -> None:
            counters = Counters(0, 0)
            tag = SCALE_TAGS.get(scale_name, 0xBF)
            for number, spec in enumerate(specs):
                data: AccountData = await asyncio.to_thread(
                    generate_account, seed, number, spec, scale.days, last_day, counters, tag
                )
                await queue.put(
                    ("accounts", ("id", "name", "timezone", "created_at"), [data.account])
                )
                await queue.put(("users", USER_COLUMNS, data.users))
                await queue.put(("trees", TREE_COLUMNS, data.trees))
                for records in data.session_records(CHUNK):
                    await queue.put(("ai_sessions", SESSION_COLUMNS, records))
                for records in data.activity_records(CHUNK):
                    await queue.put(("psa_activity_log", PSA_COLUMNS, records))
                n_sessions, n_activities = len(data.sessions["id"]), len(data.activities["id"])
                counters = Counters(counters.session + n_sessions, counters.activity + n_activities)
                report.accounts += 1
                report.sessions += n_sessions
                report.activities += n_activities
                report.flows += len(data.trees)
                if spec.sessions >= 100_000 or number % 50 == 0:
                    log(f"  account {number}: {n_sessions} sessions, {n_activities} PSA rows "
                        f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
            await queue.put(None)

        async def consume() -> None:
            while (item := await queue.get()) is not None:
                table, columns, records = item
                await connection.copy_records_to_table(table, records=records, columns=columns)

        load_started = time.perf_counter()
        await asyncio.gather(produce(), consume())
        report.seconds_load = time.perf_counter() - load_started

        step = time.perf_counter()
        await connection.execute("SET maintenance_work_mem = '512MB'")
        for definition in indexes:
            await connection.execute(definition)
        report.seconds_indexes = time.perf_counter() - step

    finally:
        await connection.close()

    step = time.perf_counter()
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SET session_replication_role = replica")
        await connection.execute(_TREE_COUNTERS, datetime.now(UTC) - timedelta(days=90))
    finally:
        await connection.close()
    report.seconds_counters = time.perf_counter() - step

    step = time.perf_counter()
    report.rollups_rebuilt = await _rebuild_rollups(url)
    report.seconds_rollups = time.perf_counter() - step

    step = time.perf_counter()
    maintenance = await asyncpg.connect(dsn)
    try:
        await maintenance.execute("VACUUM (ANALYZE)")
        report.database_bytes = await maintenance.fetchval(
            "SELECT pg_database_size(current_database())"
        )
    finally:
        await maintenance.close()
    report.seconds_vacuum = time.perf_counter() - step
    report.seconds_total = time.perf_counter() - started
    return report
