"""A rollup build in chunks while the product writes: exact at the end, and a write waits
for one chunk, not for the build.

Writers are plain asyncpg connections of the API's role (row-level security binds them
and the triggers), each transaction bound to the account, as the product's would be.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from persistence.engine import asyncpg_dsn
from persistence.rollups import (
    CHUNK_COMMIT,
    Pacing,
    build_chunk,
    finish_build,
    finish_started_builds,
    start_build,
)
from persistence.tenancy import account_transaction
from tests.rollups.test_equivalence import (
    Tenant,
    _activity_values,
    _check_all,
    _populate,
    _session_values,
    _snapshot,
)

# Writer errors that only roll the writer's transaction back (two writers racing for one
# row); they change nothing, so the rollups must still be exact.
_RACES = (
    asyncpg.ForeignKeyViolationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)

_INSERT_SESSION = (
    "INSERT INTO ai_sessions (id, account_id, session_type, problem_domain, status, "
    "confidence_tier, matched_flow_id, match_confidence, started_at, resolved_at, rating, "
    "psa_ticket_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)
_INSERT_ACTIVITY = (
    "INSERT INTO psa_activity_log (id, account_id, session_id, activity_type, hours_logged, "
    "psa_ticket_id, external_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)


class Writer:
    """Random product writes to one account on its own connection, one transaction each."""

    def __init__(self, connection: asyncpg.Connection, tenant: Tenant, seed: int) -> None:
        self.connection = connection
        self.tenant = tenant
        self.rng = random.Random(seed)
        self.done: Counter[str] = Counter()

    async def _write(self, kind: str, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        try:
            async with self.connection.transaction():
                await self.connection.execute(
                    "SELECT set_config('app.current_account_id', $1, true)",
                    str(self.tenant.account_id),
                )
                for statement, args in statements:
                    await self.connection.execute(statement, *args)
        except _RACES:
            self.done["rolled back"] += 1
            return
        self.done[kind] += 1

    async def insert_session(self) -> None:
        tenant, session_id = self.tenant, uuid.uuid4()
        v = _session_values(self.rng, tenant)
        await self._write(
            "session insert",
            [
                (
                    _INSERT_SESSION,
                    (
                        session_id,
                        tenant.account_id,
                        v["session_type"],
                        v["problem_domain"],
                        v["status"],
                        v["confidence_tier"],
                        v["matched_flow_id"],
                        v["match_confidence"],
                        v["started_at"],
                        v["resolved_at"],
                        v["rating"],
                        v["psa_ticket_id"],
                    ),
                )
            ],
        )
        tenant.session_ids.append(session_id)
        tenant.started[session_id] = v["started_at"]

    async def update_session(self) -> None:
        v = _session_values(self.rng, self.tenant)
        ids = self.rng.sample(self.tenant.session_ids, 3)
        await self._write(
            "session update",
            [
                (
                    "UPDATE ai_sessions SET status = $2, confidence_tier = $3, rating = $4, "
                    "psa_ticket_id = $5, problem_domain = $6, matched_flow_id = $7 "
                    "WHERE id = ANY($1::uuid[])",
                    (
                        ids,
                        v["status"],
                        v["confidence_tier"],
                        v["rating"],
                        v["psa_ticket_id"],
                        v["problem_domain"],
                        v["matched_flow_id"],
                    ),
                )
            ],
        )

    async def move_session(self) -> None:
        """A session moves to another local day (and so to other blocks)."""
        session_id = self.rng.choice(self.tenant.session_ids)
        shift = timedelta(days=self.rng.choice((-3, -1, 1, 2)), hours=self.rng.randint(0, 23))
        await self._write(
            "session moved",
            [
                (
                    "UPDATE ai_sessions SET started_at = started_at + $2, "
                    "resolved_at = resolved_at + $2 WHERE id = $1",
                    (session_id, shift),
                )
            ],
        )

    async def delete_session(self) -> None:
        session_id = self.rng.choice(self.tenant.session_ids)
        await self._write(
            "session delete",
            [
                ("DELETE FROM psa_activity_log WHERE session_id = $1", (session_id,)),
                ("DELETE FROM ai_sessions WHERE id = $1", (session_id,)),
            ],
        )
        if session_id in self.tenant.session_ids:
            self.tenant.session_ids.remove(session_id)

    async def insert_activity(self) -> None:
        tenant, activity_id = self.tenant, uuid.uuid4()
        v = _activity_values(self.rng, tenant)
        await self._write(
            "activity insert",
            [
                (
                    _INSERT_ACTIVITY,
                    (
                        activity_id,
                        tenant.account_id,
                        v["session_id"],
                        v["activity_type"],
                        v["hours_logged"],
                        v["psa_ticket_id"],
                        v["external_id"],
                        v["created_at"],
                    ),
                )
            ],
        )
        tenant.activity_ids.append(activity_id)

    async def update_activity(self) -> None:
        """Activity moves to another session (another chunk) and type, hours and day."""
        v = _activity_values(self.rng, self.tenant)
        await self._write(
            "activity update",
            [
                (
                    "UPDATE psa_activity_log SET session_id = $2, activity_type = $3, "
                    "hours_logged = $4, created_at = $5 WHERE id = $1",
                    (
                        self.rng.choice(self.tenant.activity_ids),
                        v["session_id"],
                        v["activity_type"],
                        v["hours_logged"],
                        v["created_at"],
                    ),
                )
            ],
        )

    async def delete_activity(self) -> None:
        await self._write(
            "activity delete",
            [
                (
                    "DELETE FROM psa_activity_log WHERE id = $1",
                    (self.rng.choice(self.tenant.activity_ids),),
                )
            ],
        )

    async def run_until(self, finished: asyncio.Event, at_least: int) -> None:
        kinds: list[Callable[[], Awaitable[None]]] = [
            self.insert_session,
            self.update_session,
            self.move_session,
            self.delete_session,
            self.insert_activity,
            self.update_activity,
            self.delete_activity,
        ]
        writes = 0
        while not finished.is_set() or writes < at_least:
            await self.rng.choice(kinds)()
            writes += 1


async def test_writes_during_a_chunked_build_end_exactly_as_the_reference_scan(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    writer_sessionmaker: async_sessionmaker[AsyncSession],
    writer_database_url: str,
) -> None:
    rng = random.Random(11)
    tenants = await _populate(writer_sessionmaker, rng)
    tenant = tenants[0]
    sessions_before = len(tenant.session_ids)
    writers = [
        Writer(await asyncpg.connect(asyncpg_dsn(writer_database_url)), tenant, seed)
        for seed in (1, 2, 3)
    ]
    finished = asyncio.Event()
    try:
        await start_build(sessionmaker, tenant.account_id)

        async def build() -> int:
            chunks = 0
            # Chunks of 4 sessions, a pause between them so the writers land in between.
            while True:
                await asyncio.sleep(0.01)
                chunks += 1
                if await _one_chunk(sessionmaker, tenant.account_id, 4):
                    finished.set()
                    return chunks

        building = asyncio.create_task(build())
        await asyncio.gather(*(writer.run_until(finished, at_least=20) for writer in writers))
        chunks = await building
    finally:
        for writer in writers:
            await writer.connection.close()
    done = sum((writer.done for writer in writers), Counter())
    # The build ran in many chunks, and every kind of write committed during it.
    assert chunks > 10 and sessions_before > 40
    for kind in (
        "session insert",
        "session update",
        "session moved",
        "session delete",
        "activity insert",
        "activity update",
        "activity delete",
    ):
        assert done[kind] > 0, (kind, done)

    # Every tab's statements answer what the reference scan answers over the raw rows.
    assert await _check_all(writer_sessionmaker, tenant) == 9
    # And the rows are exactly those of a build with no writer around.
    built = await _snapshot(sessionmaker, tenant.account_id)
    async with account_transaction(sessionmaker, tenant.account_id) as session:
        await session.execute(text("SELECT rollups_rebuild_account(:a)"), {"a": tenant.account_id})
    assert await _snapshot(sessionmaker, tenant.account_id) == built
    # The other accounts were never touched by the build or its writers.
    for other in tenants[1:]:
        assert await _check_all(writer_sessionmaker, other) == 9


async def _one_chunk(
    sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID, chunk: int
) -> bool:
    """A chunk as every build runs it: its own transaction, committed asynchronously."""
    return await build_chunk(sessionmaker, account_id, chunk)


async def _watermark(
    sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID
) -> uuid.UUID | None:
    async with account_transaction(sessionmaker, account_id) as session:
        found = await session.execute(
            text("SELECT built_through FROM rollup_builds WHERE account_id = :a"),
            {"a": account_id},
        )
        watermark: uuid.UUID | None = found.scalar_one()
        return watermark


async def test_a_chunk_lost_with_its_asynchronous_commit_is_built_again_from_the_watermark(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    writer_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A chunk commits without waiting for the log flush; a crash can lose it, and only
    together with every later commit. After recovery the database is as if it had never
    run (here: rolled back): the build goes on from the last chunk kept and ends exact."""
    rng = random.Random(5)
    tenant = (await _populate(writer_sessionmaker, rng))[0]
    await start_build(sessionmaker, tenant.account_id)
    assert not await _one_chunk(sessionmaker, tenant.account_id, 5)
    kept = await _watermark(sessionmaker, tenant.account_id)
    ordered = sorted(tenant.session_ids)
    assert kept == ordered[4]  # five sessions built, keyed up to the fifth id
    built = await _snapshot(sessionmaker, tenant.account_id)

    # The next chunk runs as a build runs it and is lost: its commit never reached the disk.
    async with sessionmaker() as session:
        transaction = await session.begin()
        await session.execute(CHUNK_COMMIT)
        await session.execute(
            text("SELECT set_config('app.current_account_id', :a, true)"),
            {"a": str(tenant.account_id)},
        )
        setting = await session.execute(text("SELECT current_setting('synchronous_commit')"))
        assert setting.scalar_one() == "off"
        # The chunk's full-page images are compressed when its role may ask for it ('on'
        # reads back as the method it means, 'pglz').
        compressed = await session.execute(
            text(
                "SELECT current_setting('wal_compression') <> 'off', rolsuper FROM pg_roles"
                " WHERE rolname = current_user"
            )
        )
        on, superuser = compressed.one()
        assert on is superuser
        step = text("SELECT rollup_build_step(:a, 5)")
        assert not (await session.execute(step, {"a": tenant.account_id})).scalar_one()
        await transaction.rollback()
    assert await _watermark(sessionmaker, tenant.account_id) == kept
    assert await _snapshot(sessionmaker, tenant.account_id) == built

    # Resumed, the build reads those sessions again and ends equal to the reference scan.
    build = await finish_build(sessionmaker, tenant.account_id, 5)
    # The 40 sessions after the first five, in chunks of 5, and one chunk that finds none left.
    assert len(ordered) == 45 and build.chunks == 40 // 5 + 1
    assert await _check_all(writer_sessionmaker, tenant) == 9


async def test_a_paced_build_rests_after_each_chunk_for_its_share_of_the_time(
    sessionmaker: async_sessionmaker[AsyncSession],
    writer_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = (await _populate(writer_sessionmaker, random.Random(6)))[0]
    rests: list[float] = []

    class Recorded(Pacing):
        async def rest(self, worked_s: float) -> None:
            rests.append(self.pause_after(worked_s))

    await start_build(sessionmaker, tenant.account_id)
    build = await finish_build(sessionmaker, tenant.account_id, 10, Recorded(0.25))
    # No rest after the last chunk; three times each chunk's time after every other one.
    assert len(rests) == build.chunks - 1 > 2
    assert all(rest > 0 for rest in rests)
    assert await _check_all(writer_sessionmaker, tenant) == 9


async def _max_write_wait(
    dsn: str, account_id: uuid.UUID, running: Callable[[], bool]
) -> tuple[float, int]:
    """(the longest one-row session insert, committed, while `running()`; how many ran)."""
    connection = await asyncpg.connect(dsn)
    longest, count = 0.0, 0
    started = datetime(2024, 6, 1, 12, tzinfo=UTC)
    try:
        while running():
            began = time.perf_counter()
            async with connection.transaction():
                await connection.execute(
                    "SELECT set_config('app.current_account_id', $1, true)", str(account_id)
                )
                await connection.execute(
                    "INSERT INTO ai_sessions (id, account_id, problem_domain, status, "
                    "started_at) VALUES ($1, $2, 'Network', 'resolved', $3)",
                    uuid.uuid4(),
                    account_id,
                    started,
                )
            longest = max(longest, time.perf_counter() - began)
            count += 1
            await asyncio.sleep(0.005)
    finally:
        await connection.close()
    return longest, count


async def _timed_build(
    dsn: str, account_id: uuid.UUID, build: Callable[[], Awaitable[object]]
) -> tuple[float, float, int]:
    """(the build's seconds, the longest write during it, the writes during it)."""
    running = True
    writer = asyncio.create_task(_max_write_wait(dsn, account_id, lambda: running))
    await asyncio.sleep(0.2)  # the writer is under way
    began = time.perf_counter()
    try:
        await build()
    finally:
        seconds = time.perf_counter() - began
        running = False
    longest, count = await writer
    return seconds, longest, count


async def test_a_write_during_a_build_waits_for_one_chunk_not_for_the_build(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    writer_database_url: str,
) -> None:
    account = uuid.uuid4()
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO accounts (id, name, timezone) VALUES (:a, 'Big MSP', 'UTC')"),
            {"a": account},
        )
        # 6,000 sessions over a year, half with two PSA notes.
        await connection.execute(
            text(
                "INSERT INTO ai_sessions (id, account_id, problem_domain, status, started_at, "
                "psa_ticket_id) SELECT gen_random_uuid(), :a, 'Domain ' || (g % 40), "
                "'resolved', now() - g * interval '87 minutes', 'T-' || g "
                "FROM generate_series(1, 6000) AS g"
            ),
            {"a": account},
        )
        await connection.execute(
            text(
                "INSERT INTO psa_activity_log (id, account_id, session_id, activity_type, "
                "psa_ticket_id, created_at) SELECT gen_random_uuid(), s.account_id, s.id, "
                "'note_posted', s.psa_ticket_id, s.started_at + interval '1 hour' "
                "FROM ai_sessions s, generate_series(1, 2) "
                "WHERE s.account_id = :a AND s.problem_domain < 'Domain 2'"
            ),
            {"a": account},
        )
    dsn = asyncpg_dsn(writer_database_url)

    async def whole() -> None:
        async with account_transaction(sessionmaker, account) as session:
            await session.execute(text("SELECT rollups_rebuild_account(:a)"), {"a": account})

    async def chunked() -> None:
        await start_build(sessionmaker, account)
        await finish_build(sessionmaker, account, chunk=100)

    # One transaction for the account (as every build was): the write waits for most of it.
    whole_s, whole_wait, whole_writes = await _timed_build(dsn, account, whole)
    assert whole_wait > whole_s / 2
    # In chunks of 100 sessions (some 60 chunks): it waits for about one.
    chunked_s, chunked_wait, writes = await _timed_build(dsn, account, chunked)
    assert writes > 20
    # (Measured on 2 busy cores: 2.3-2.4 s in 61 chunks; the longest write 0.06-0.08 s.)
    assert chunked_wait < chunked_s / 4, (chunked_wait, chunked_s)

    # Both builds (and the writes) end with the same rollups a fresh build makes.
    built = await _snapshot(sessionmaker, account)
    await whole()
    assert await _snapshot(sessionmaker, account) == built
    async with account_transaction(sessionmaker, account) as session:
        total = await session.execute(
            text(
                "SELECT sum(sessions), sum(doc_pushed) FROM rollup_session_blocks "
                "WHERE account_id = :a AND level = 0"
            ),
            {"a": account},
        )
        # 6,000 + the writes; doc pushed: the sessions of Domain 0, 1, 10..19 (12 of 40).
        assert tuple(total.one()) == (6000 + whole_writes + writes, 1800)


async def test_a_time_zone_change_starts_a_build_that_the_api_role_finishes(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    role_sessionmaker: async_sessionmaker[AsyncSession],
    writer_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    account = uuid.uuid4()
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO accounts (id, name, timezone) VALUES (:a, 'Zone MSP', 'UTC')"),
            {"a": account},
        )
        await connection.execute(
            text(
                "INSERT INTO ai_sessions (id, account_id, problem_domain, status, started_at) "
                "VALUES (gen_random_uuid(), :a, 'Email', 'resolved', :started)"
            ),
            {"a": account, "started": datetime(2024, 3, 10, 23, 30, tzinfo=UTC)},
        )

    async def days() -> list[tuple[int, int]]:
        async with account_transaction(sessionmaker, account) as session:
            found = await session.execute(
                text(
                    "SELECT block, sessions FROM rollup_session_blocks "
                    "WHERE account_id = :a AND level = 0"
                ),
                {"a": account},
            )
            return [(row[0], row[1]) for row in found]

    march_10 = (datetime(2024, 3, 10) - datetime(1970, 1, 1)).days
    assert await days() == [(march_10, 1)]
    # The product changes the zone (the API's role may not write accounts).
    async with account_transaction(writer_sessionmaker, account) as session:
        await session.execute(
            text("UPDATE accounts SET timezone = 'Asia/Tokyo' WHERE id = :a"), {"a": account}
        )
    # The change only started the build: the account's sums are empty until it finishes.
    assert await days() == []
    # What the server's background job runs, as the API's role (which may list the builds).
    builds = await finish_started_builds(role_sessionmaker)
    assert account in {build.account_id for build in builds}
    # 23:30 UTC on 10 March is 08:30 on 11 March in Tokyo.
    assert await days() == [(march_10 + 1, 1)]


async def test_a_repeatable_read_writer_older_than_a_build_is_refused_not_miscounted(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    writer_database_url: str,
) -> None:
    account = uuid.uuid4()
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO accounts (id, name, timezone) VALUES (:a, 'RR MSP', 'UTC')"),
            {"a": account},
        )
    insert = (
        "INSERT INTO ai_sessions (id, account_id, problem_domain, status, started_at) "
        "VALUES ($1, $2, 'Email', 'resolved', now())"
    )
    writer = await asyncpg.connect(asyncpg_dsn(writer_database_url))
    try:
        for begin_build in (
            lambda: start_build(sessionmaker, account),  # a start after its snapshot
            lambda: _one_chunk(sessionmaker, account, 1),  # a chunk after its snapshot
        ):
            transaction = writer.transaction(isolation="repeatable_read")
            await transaction.start()
            await writer.execute(
                "SELECT set_config('app.current_account_id', $1, true)", str(account)
            )
            await begin_build()
            try:
                await writer.execute(insert, uuid.uuid4(), account)
            except asyncpg.SerializationError:
                refused = True
            else:
                refused = False
            await transaction.rollback()
            assert refused
            # Retried with a new snapshot, the write goes through and is counted once.
            async with writer.transaction(isolation="repeatable_read"):
                await writer.execute(
                    "SELECT set_config('app.current_account_id', $1, true)", str(account)
                )
                await writer.execute(insert, uuid.uuid4(), account)
    finally:
        await writer.close()
    await finish_build(sessionmaker, account)
    async with account_transaction(sessionmaker, account) as session:
        total = await session.execute(
            text(
                "SELECT sum(sessions) FROM rollup_session_blocks "
                "WHERE account_id = :a AND level = 0"
            ),
            {"a": account},
        )
        assert total.scalar_one() == 2
