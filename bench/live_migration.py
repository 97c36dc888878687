"""`python -m bench migrate-live --scale L`: `migrate` run beside a product at work.

The scale's generated database is made what the product has (the analytics revisions
downgraded away, no migration history, and by default no row-level security on the
product's tables), and a product role is made that never sets `app.current_account_id`.
Product writers then insert and resolve sessions, log PSA activity and read accounts at a
steady rate (bench/product_load.py) through five phases, in one run:

1. quiet: no migration, the reference figures;
2. adoption: `python main.py migrate` until its first rollup build line;
3. rollup build: the rest of that `migrate` (every account's rollups);
4. upgrade: the database downgraded to the previous release's head (writers paused),
   then `migrate` again with the writers on: the newer revisions on an adopted database;
5. quiet again.

For each phase: the product writes' p50 / p99 / max, the longest wait of any product
statement, and the statements refused. Afterwards every tab of a sample of accounts is
compared with the floor (the raw-table scans) for two periods: they must be equal.
Destroys the dataset's state: regenerate before `run`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import make_url, text

from bench import floor
from bench.compare import differences
from bench.database import bench_database_url
from bench.product_load import (
    PRODUCT_ROLE,
    PRODUCT_TABLES,
    LoadOptions,
    ProductLoad,
    Sample,
    create_product_role,
    summarize,
)
from bench.run import BENCH_SECRET, InProcess
from persistence.adoption import BASELINE
from persistence.engine import asyncpg_dsn, create_engine
from persistence.migrate import downgrade

# The newest revision of the release before this one: the "upgrade" phase starts there.
PREVIOUS_RELEASE_HEAD = "0009_triggers_run_as_owner"
PERIODS = ("LAST_7_DAYS", "LAST_90_DAYS")


async def _make_product_database(url: str, keep_rls: bool, log: Callable[[str], None]) -> None:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            await downgrade(connection, BASELINE)
            await connection.execute(text("DROP TABLE alembic_version"))
            if not keep_rls:
                for table in PRODUCT_TABLES:
                    await connection.execute(
                        text(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
                    )
                    await connection.execute(
                        text(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
                    )
                    await connection.execute(
                        text(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
                    )
    finally:
        await engine.dispose()
    log("the dataset is now a product database (baseline tables, no history"
        + (")" if keep_rls else ", no row-level security)"))  # fmt: skip


class Command:
    """`python main.py ARGS` on the database, its output lines kept with their instants."""

    def __init__(self, url: str, *args: str) -> None:
        self.url = url
        self.args = args
        self.lines: list[tuple[float, str, str]] = []  # (monotonic, stream, line)
        self.started = 0.0
        self.ended = 0.0
        self.returncode: int | None = None

    async def run(self, log: Callable[[str], None]) -> None:
        environment = {**os.environ, "DATABASE_URL": self.url, "AUTH_JWT_SECRET": BENCH_SECRET}
        environment.pop("FLOWPILOT_DEMO", None)
        self.started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "main.py", *self.args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=environment,
        )  # fmt: skip

        async def read(stream: asyncio.StreamReader | None, name: str) -> None:
            assert stream is not None
            async for raw in stream:
                line = raw.decode(errors="replace").rstrip()
                self.lines.append((time.monotonic(), name, line))
                if name == "stdout" or not line.startswith("rollups:") or "00/" in line:
                    log(f"  {' '.join(self.args)}: {line}")

        await asyncio.gather(read(process.stdout, "stdout"), read(process.stderr, "stderr"))
        self.returncode = await process.wait()
        self.ended = time.monotonic()
        if self.returncode != 0:
            tail = "\n".join(line for _, _, line in self.lines[-10:])
            raise RuntimeError(f"main.py {' '.join(self.args)} exited {self.returncode}:\n{tail}")

    def first(self, prefix: str) -> float:
        """The instant of the first line starting with `prefix` (the end when none)."""
        return next((at for at, _, line in self.lines if line.startswith(prefix)), self.ended)


def _phase(samples: list[Sample], start: float, end: float) -> list[Sample]:
    return [sample for sample in samples if start <= sample.started < end]


async def _exactness(url: str, accounts: list[uuid.UUID]) -> dict[str, Any]:
    """Every tab of `accounts` for each period, the API against the floor."""
    api = InProcess(url)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    cases = 0
    failures: list[str] = []
    try:
        for account in accounts:
            for tab in floor.TABS:
                for period in PERIODS:
                    now = datetime.now(UTC)
                    expected, _ = await floor.run_floor(connection, tab, account, period, now)
                    actual, _ = await api.execute(account, tab, period, now)
                    cases += 1
                    found = differences(actual, expected)
                    if found:
                        failures.append(f"{account} {tab} {period}: {found[:3]}")
    finally:
        await connection.close()
        await api.dispose()
    return {"cases": cases, "unequal": len(failures), "failures": failures[:20]}


async def live_migration(
    scale: str,
    database_url: str | None = None,
    *,
    quiet_s: float = 60.0,
    keep_rls: bool = False,
    options: LoadOptions | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    url = bench_database_url(scale, database_url)
    await _make_product_database(url, keep_rls, log)
    password = secrets.token_urlsafe(16)
    owner = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await create_product_role(owner, password)
        accounts = [row["id"] for row in await owner.fetch("SELECT id FROM accounts ORDER BY id")]
        largest = [
            row["account_id"]
            for row in await owner.fetch(
                "SELECT account_id FROM ai_sessions GROUP BY account_id "
                "ORDER BY count(*) DESC LIMIT 3"
            )
        ]
        visible_before = await _product_view(url, password)
    finally:
        await owner.close()
    product_dsn = asyncpg_dsn(
        make_url(url).set(username=PRODUCT_ROLE, password=password).render_as_string(False)
    )
    load = ProductLoad(product_dsn, asyncpg_dsn(url), accounts, options or LoadOptions())
    marks: dict[str, tuple[float, float]] = {}

    await load.start()
    try:
        log(f"quiet: {quiet_s:.0f} s of product writes with no migration")
        start = time.monotonic()
        await asyncio.sleep(quiet_s)
        marks["quiet"] = (start, time.monotonic())

        # A product table without row-level security is refused unless the flag says to
        # enable it with a pass-through policy for the product's roles (their rows stay).
        adopting = Command(url, "migrate", *(() if keep_rls else ("--enable-row-security",)))
        await adopting.run(log)
        build_start = adopting.first("rollups:")
        marks["adoption"] = (adopting.started, build_start)
        marks["rollup build"] = (build_start, adopting.ended)
    finally:
        await load.stop()
    visible_after = await _product_view(url, password)

    log(f"downgrading to {PREVIOUS_RELEASE_HEAD} (writers paused)")
    await Command(url, "downgrade", PREVIOUS_RELEASE_HEAD).run(log)
    await load.start()
    try:
        upgrading = Command(url, "migrate")
        await upgrading.run(log)
        marks["upgrade"] = (upgrading.started, upgrading.ended)
        start = time.monotonic()
        await asyncio.sleep(min(quiet_s, 20.0))
        marks["quiet after"] = (start, time.monotonic())
    finally:
        await load.stop()

    log("comparing every tab of the largest accounts and five others with the floor")
    sample = largest + [a for a in accounts if a not in largest][:: max(1, len(accounts) // 5)][:5]
    exactness = await _exactness(url, sample)
    phases = {
        name: {"seconds": round(end - start, 1), **summarize(_phase(load.samples, start, end))}
        for name, (start, end) in marks.items()
    }
    errors = sorted({s.error for s in load.samples if s.error is not None})
    return {
        "scale": scale,
        "database": url.rsplit("/", 1)[-1],
        "accounts": len(accounts),
        "rates_per_s": vars(load.options),
        "phases": phases,
        "product_role_sees": {"before": visible_before, "after": visible_after},
        "errors": errors[:20],
        "exactness": exactness,
        "load_average_end": list(os.getloadavg()),
    }


async def _product_view(url: str, password: str) -> dict[str, int]:
    """What the product role sees of each of its tables (it sets no account)."""
    dsn = asyncpg_dsn(
        make_url(url).set(username=PRODUCT_ROLE, password=password).render_as_string(False)
    )
    connection = await asyncpg.connect(dsn)
    try:
        return {
            table: int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
            for table in PRODUCT_TABLES
        }
    finally:
        await connection.close()


def table(report: dict[str, Any]) -> str:
    """The phases as a Markdown table."""
    lines = [
        "| phase | s | product statements | refused | write p50 ms | write p99 ms "
        "| write max ms | longest statement ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, phase in report["phases"].items():
        lines.append(
            f"| {name} | {phase['seconds']} | {phase['statements']} | {phase['errors']} "
            f"| {phase['write_p50_ms']} | {phase['write_p99_ms']} | {phase['write_max_ms']} "
            f"| {phase['longest_statement_ms']} |"
        )
    return "\n".join(lines)
