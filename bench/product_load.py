"""The product at work: technicians open and resolve sessions, PSA pushes are logged, and
the product reads its accounts, at a steady rate, while something else happens to the
database (a `migrate`). Every statement's latency is kept with the instant it started, so
a run can be cut into phases afterwards.

The writers connect as a product role that never sets `app.current_account_id` (the
product's own roles do not), so a migration that changed what such a role sees or may
write shows up as refused statements, not only as slow ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

PRODUCT_ROLE = "fp_bench_product"
APPLICATION = "fp-bench-product"  # the load's connections, as pg_stat_activity names them
PRODUCT_TABLES = ("accounts", "users", "trees", "ai_sessions")
DOMAINS = ("Email", "VPN", "Printing", "Active Directory", "Microsoft 365", "Networking")


@dataclass(frozen=True)
class Wait:
    """A product statement seen waiting by the sampler: on what, and behind which statement."""

    at: float  # time.monotonic()
    seconds: float  # how long the statement had been running when seen
    kind: str  # wait_event_type/wait_event, or "cpu" when it waits on nothing
    blocker: str  # the first blocking backend's statement, shortened ("" when none)


@dataclass(frozen=True)
class Sample:
    kind: str  # insert_session, resolve_session, log_psa, read_account
    started: float  # time.monotonic()
    seconds: float
    error: str | None = None


@dataclass
class LoadOptions:
    """Statements per second of each kind, over all writers together."""

    sessions_per_s: float = 20.0
    resolves_per_s: float = 20.0
    psa_per_s: float = 10.0
    reads_per_s: float = 10.0
    statement_timeout_s: float = 60.0


@dataclass
class ProductLoad:
    """Runs one task per statement kind, each on its own connection, at a fixed rate."""

    product_dsn: str  # the product role's
    owner_dsn: str  # the PSA log is the analytics' own table: logged as its owner
    accounts: Sequence[uuid.UUID]
    options: LoadOptions = field(default_factory=LoadOptions)
    samples: list[Sample] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _open_sessions: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)

    async def start(self) -> None:
        self._stop.clear()
        kinds = (
            ("insert_session", self.options.sessions_per_s, self.product_dsn),
            ("resolve_session", self.options.resolves_per_s, self.product_dsn),
            ("log_psa", self.options.psa_per_s, self.owner_dsn),
            ("read_account", self.options.reads_per_s, self.product_dsn),
        )
        sampler = await asyncpg.connect(self.owner_dsn)
        self._tasks.append(asyncio.create_task(self._sample_waits(sampler)))
        for kind, rate, dsn in kinds:
            if rate > 0:
                connection = await asyncpg.connect(
                    dsn, statement_cache_size=0, server_settings={"application_name": APPLICATION}
                )
                self._tasks.append(asyncio.create_task(self._run(kind, rate, connection)))

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        self._tasks.clear()

    async def _run(self, kind: str, rate: float, connection: asyncpg.Connection) -> None:
        """Statements on a fixed schedule: one that started late (it waited for a lock)
        is followed at once by the ones that fell due meanwhile, as a product would."""
        interval = 1.0 / rate
        due = time.monotonic()
        rng = random.Random(hash(kind))
        try:
            while not self._stop.is_set():
                due += interval
                started = time.monotonic()
                error = None
                try:
                    await asyncio.wait_for(
                        self._statement(kind, connection, rng), self.options.statement_timeout_s
                    )
                except (asyncpg.PostgresError, TimeoutError) as failure:
                    error = f"{type(failure).__name__}: {failure}"
                self.samples.append(Sample(kind, started, time.monotonic() - started, error))
                pause = due - time.monotonic()
                if pause > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), pause)
        finally:
            await connection.close()

    async def _sample_waits(self, connection: asyncpg.Connection) -> None:
        """Every 50 ms: the load's statements running for over 100 ms, and what holds them."""
        query = """
            SELECT extract(epoch FROM now() - a.query_start) AS seconds,
                   coalesce(a.wait_event_type || '/' || a.wait_event, 'cpu') AS kind,
                   coalesce((SELECT left(b.query, 90) FROM pg_stat_activity b
                             WHERE b.pid = (pg_blocking_pids(a.pid))[1]), '') AS blocker
            FROM pg_stat_activity a
            WHERE a.application_name = $1 AND a.state = 'active'
              AND now() - a.query_start > interval '100 milliseconds'
        """
        try:
            while not self._stop.is_set():
                for row in await connection.fetch(query, APPLICATION):
                    self.waits.append(
                        Wait(time.monotonic(), float(row["seconds"]), row["kind"], row["blocker"])
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 0.05)
        finally:
            await connection.close()

    async def _statement(
        self, kind: str, connection: asyncpg.Connection, rng: random.Random
    ) -> None:
        account = rng.choice(self.accounts)
        if kind == "insert_session":
            session_id = uuid.uuid4()
            await connection.execute(
                "INSERT INTO ai_sessions (id, account_id, session_type, problem_domain, "
                "status, confidence_tier, match_confidence, started_at) "
                "VALUES ($1, $2, 'flowpilot', $3, 'active', 'guided', $4, now())",
                session_id,
                account,
                rng.choice(DOMAINS),
                round(rng.uniform(0.5, 1.0), 3),
            )
            self._open_sessions.append((session_id, account))
        elif kind == "resolve_session":
            if not self._open_sessions:
                await connection.execute("SELECT 1")
                return
            session_id, _ = self._open_sessions.pop(rng.randrange(len(self._open_sessions)))
            status = "resolved" if rng.random() < 0.7 else "escalated"
            await connection.execute(
                "UPDATE ai_sessions SET status = $2, resolved_at = now(), rating = $3 "
                "WHERE id = $1",
                session_id,
                status,
                rng.randint(1, 5),
            )
        elif kind == "log_psa":
            present = await connection.fetchval("SELECT to_regclass('public.psa_activity_log')")
            if present is None:
                return  # not created yet: the analytics revisions bring it
            await connection.execute(
                "INSERT INTO psa_activity_log (id, account_id, activity_type, hours_logged, "
                "psa_ticket_id, external_id) VALUES ($1, $2, 'time_entry_posted', $3, $4, $5)",
                uuid.uuid4(),
                account,
                round(rng.uniform(0.25, 2.0), 2),
                f"T-{rng.randint(1000, 99999)}",
                uuid.uuid4().hex,
            )
        else:
            await connection.fetchrow(
                "SELECT id, name, timezone FROM accounts WHERE id = $1", account
            )


async def create_product_role(owner: asyncpg.Connection, password: str) -> None:
    """A product role as the product has one: reads and writes its tables, never sets
    `app.current_account_id`, owns nothing."""
    exists = await owner.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", PRODUCT_ROLE)
    verb = "ALTER" if exists else "CREATE"
    await owner.execute(
        f"{verb} ROLE {PRODUCT_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '{password}'"
    )
    await owner.execute(f"GRANT USAGE ON SCHEMA public TO {PRODUCT_ROLE}")
    tables = ", ".join(PRODUCT_TABLES)
    await owner.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {PRODUCT_ROLE}")


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summarize(samples: Sequence[Sample]) -> dict[str, float | int]:
    """Writes' p50 / p99 / max and the longest wait of any statement, in ms."""
    writes = [s.seconds * 1000 for s in samples if s.kind != "read_account"]
    every = [s.seconds * 1000 for s in samples]
    return {
        "statements": len(samples),
        "errors": sum(1 for s in samples if s.error is not None),
        "write_p50_ms": round(percentile(writes, 0.50), 2),
        "write_p99_ms": round(percentile(writes, 0.99), 2),
        "write_max_ms": round(max(writes, default=float("nan")), 2),
        "longest_statement_ms": round(max(every, default=float("nan")), 2),
    }


def longest_waits(waits: Sequence[Wait], count: int = 5) -> list[dict[str, object]]:
    """The longest waits seen, one per (kind, blocker), longest first."""
    longest: dict[tuple[str, str], float] = {}
    for wait in waits:
        key = (wait.kind, wait.blocker)
        longest[key] = max(longest.get(key, 0.0), wait.seconds)
    ranked = sorted(longest.items(), key=lambda item: -item[1])[:count]
    return [
        {"ms": round(seconds * 1000), "waiting_on": kind, "behind": blocker}
        for (kind, blocker), seconds in ranked
    ]
