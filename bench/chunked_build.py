"""`python -m bench chunked-build`: how long a product write waits while an account builds.

Makes one account of `sessions` sessions (spread over 400 days and 60 domains, each with
`activities` PSA notes and time entries) in a database at head, loaded with the
triggers off, then builds its rollups twice while a writer inserts one session every
20 ms as the product would: once in one transaction (every build before chunks; left
out with `--no-whole`) and once in chunks, of `--chunk` sessions or sized by time
(ROLLUP_BUILD_CHUNK_TARGET_MS). Session ids are random, as the product's are; `--others`
loads that many sessions of another account beside it, so the account is a share of the
table as the largest is at L (a third). Reports each build's seconds, its chunks' times
(longest, median, and the means of the first and last tenth) and sizes, and the writer's
longest wait and p99. `--account ID` builds an account already there instead (a copy of
the largest L account, say). The accounts stay (another run adds more); use a scratch
database.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.chunk_sizing import ChunkSizing
from persistence.engine import asyncpg_dsn, create_engine, create_sessionmaker
from persistence.rollups import build_chunk, run_chunks, start_build
from persistence.tenancy import account_transaction

_SESSIONS = """
INSERT INTO ai_sessions (id, account_id, problem_domain, status, confidence_tier,
    started_at, resolved_at, rating, psa_ticket_id)
SELECT gen_random_uuid(), :a, 'Domain ' || (g % 60),
       (ARRAY['resolved', 'escalated', 'active'])[1 + g % 3],
       (ARRAY['guided', 'exploring', 'discovery'])[1 + g % 3],
       now() - (g % 400) * interval '1 day' - (g % 1440) * interval '1 minute',
       now() - (g % 400) * interval '1 day', 1 + g % 5, 'T-' || g
FROM generate_series(1, :n) AS g
"""
_ACTIVITIES = """
INSERT INTO psa_activity_log (id, account_id, session_id, activity_type, hours_logged,
    psa_ticket_id, created_at)
SELECT gen_random_uuid(), s.account_id, s.id,
       CASE WHEN k % 2 = 0 THEN 'note_posted' ELSE 'time_entry_posted' END,
       CASE WHEN k % 2 = 0 THEN NULL ELSE 0.5 END, s.psa_ticket_id,
       s.started_at + k * interval '1 hour'
FROM ai_sessions s, generate_series(1, :k) AS k
WHERE s.account_id = :a
"""


@dataclass
class Measured:
    sessions: int
    activities: int
    chunk: str  # "1000 sessions" or "sized to 200 ms"
    others: int = 0
    whole_seconds: float = 0.0
    whole_longest_write_s: float = 0.0
    chunked_seconds: float = 0.0
    chunks: int = 0
    longest_chunk_s: float = 0.0
    median_chunk_s: float = 0.0
    first_tenth_mean_chunk_s: float = 0.0
    last_tenth_mean_chunk_s: float = 0.0
    smallest_chunk: int = 0
    largest_chunk: int = 0
    chunked_longest_write_s: float = 0.0
    chunked_write_p99_s: float = 0.0
    writes_during_chunked: int = 0
    load_average: tuple[float, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def _writer(dsn: str, account: uuid.UUID, stop: asyncio.Event) -> list[float]:
    """Each write's seconds, one insert every 20 ms until `stop`."""
    import asyncpg

    connection = await asyncpg.connect(dsn)
    writes: list[float] = []
    try:
        while not stop.is_set():
            began = time.perf_counter()
            async with connection.transaction():
                await connection.execute(
                    "SELECT set_config('app.current_account_id', $1, true)", str(account)
                )
                await connection.execute(
                    "INSERT INTO ai_sessions (id, account_id, problem_domain, status, "
                    "started_at) VALUES ($1, $2, 'Domain 1', 'active', now())",
                    uuid.uuid4(),
                    account,
                )
            writes.append(time.perf_counter() - began)
            await asyncio.sleep(0.02)
    finally:
        await connection.close()
    return writes


async def _with_writer(dsn: str, account: uuid.UUID, build: Any) -> tuple[Any, list[float]]:
    stop = asyncio.Event()
    writer = asyncio.create_task(_writer(dsn, account, stop))
    await asyncio.sleep(0.5)
    try:
        result = await build()
    finally:
        stop.set()
    return result, await writer


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else max(values, default=0)


async def _load(
    engine: AsyncEngine, account: uuid.UUID, sessions: int, activities: int, others: int
) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        other = uuid.uuid4()
        for a in (account, other) if others else (account,):
            await connection.execute(
                text("INSERT INTO accounts (id, name, timezone) VALUES (:a, 'Bench', 'UTC')"),
                {"a": a},
            )
        await connection.execute(text(_SESSIONS), {"a": account, "n": sessions})
        if others:
            # Never built: they only share the table (and its primary key's id range).
            await connection.execute(text(_SESSIONS), {"a": other, "n": others})
        if activities:
            await connection.execute(text(_ACTIVITIES), {"a": account, "k": activities})
    async with engine.connect() as connection:
        await connection.execute(text("COMMIT"))
        await connection.execute(text("ANALYZE ai_sessions"))
        await connection.execute(text("ANALYZE psa_activity_log"))


async def measure(
    database_url: str,
    sessions: int,
    activities: int,
    chunk: ChunkSizing,
    others: int = 0,
    whole_too: bool = True,
    existing: uuid.UUID | None = None,
) -> Measured:
    engine = create_engine(database_url, pool_size=2, max_overflow=0)
    sessionmaker = create_sessionmaker(engine)
    dsn = asyncpg_dsn(database_url)
    target = chunk.target_s
    described = f"{chunk.start} sessions" if target is None else f"sized to {target * 1000:g} ms"
    report = Measured(sessions, sessions * activities, described, others)
    account = existing or uuid.uuid4()
    try:
        if existing is None:
            await _load(engine, account, sessions, activities, others)
        else:
            async with engine.connect() as connection:
                found = text("SELECT count(*) FROM ai_sessions WHERE account_id = :a")
                report.sessions = (await connection.execute(found, {"a": account})).scalar_one()
                report.activities = 0

        async def whole() -> float:
            began = time.perf_counter()
            async with account_transaction(sessionmaker, account) as session:
                await session.execute(text("SELECT rollups_rebuild_account(:a)"), {"a": account})
            return time.perf_counter() - began

        seconds: list[float] = []

        async def step(size: int) -> bool:
            began = time.perf_counter()
            done = await build_chunk(sessionmaker, account, size)
            seconds.append(time.perf_counter() - began)
            return done

        async def chunked() -> list[float]:
            await start_build(sessionmaker, account)
            ran = await run_chunks(step, chunk)
            report.smallest_chunk, report.largest_chunk = ran.smallest, ran.largest
            return seconds

        if whole_too:
            report.whole_seconds, writes = await _with_writer(dsn, account, whole)
            report.whole_longest_write_s = max(writes, default=0.0)
        chunks, writes = await _with_writer(dsn, account, chunked)
        tenth = max(1, len(chunks) // 10)
        report.chunked_seconds, report.chunks = sum(chunks), len(chunks)
        report.longest_chunk_s = max(chunks)
        report.median_chunk_s = statistics.median(chunks)
        report.first_tenth_mean_chunk_s = statistics.mean(chunks[:tenth])
        report.last_tenth_mean_chunk_s = statistics.mean(chunks[-tenth:])
        report.chunked_longest_write_s = max(writes, default=0.0)
        report.chunked_write_p99_s = _p99(writes)
        report.writes_during_chunked = len(writes)
        report.load_average = os.getloadavg()
    finally:
        await engine.dispose()
    return report
