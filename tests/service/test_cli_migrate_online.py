"""`migrate` beside the live product: `--sql` for review, bad input in one line, and lock
waits bounded by the lock timeout while a product transaction stands in the way."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from sqlalchemy import text

from persistence.engine import create_engine
from persistence.operations.migrate import head_revision
from tests.service.test_cli import ROOT, assert_one_line_failure, run
from tests.service.test_cli_adoption import _has_version_table, _product_database


async def _execute(url: str, *statements: str) -> None:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def test_sql_prints_the_adoption_and_every_revision_with_locks_and_changes_nothing(
    empty_database_url: str,
) -> None:
    await _product_database(empty_database_url)

    result = run("migrate", "--sql", DATABASE_URL=empty_database_url)

    assert result.returncode == 0, result.stderr
    script = result.stdout
    assert script.splitlines()[:5] == [
        "-- The SQL `python main.py migrate` runs on this database, in this order. Each",
        "-- transaction waits at most 1000 ms for a lock (lock_timeout), and is",
        "-- retried up to 8 times with a doubling pause when it has to give up.",
        "-- Then the rollups of 2 accounts are built, one account per transaction "
        "(persistence/operations/backfill.py).",
        "",
    ]
    for expected in (
        "SET lock_timeout = 1000;",
        # The fixture's trees have no index on account_id: built without blocking writes.
        "-- lock: SHARE UPDATE EXCLUSIVE on public.trees (for the build; reads and writes go on)"
        "\nCREATE INDEX CONCURRENTLY ix_trees_account_id ON public.trees (account_id);",
        "INSERT INTO alembic_version (version_num) VALUES ('0001_baseline') RETURNING",
        "-- lock: ACCESS EXCLUSIVE on public.trees (brief)\n"
        "ALTER TABLE trees ADD COLUMN usage_count INTEGER DEFAULT 0 NOT NULL;",
        "-- lock: SHARE UPDATE EXCLUSIVE on public.trees (for the scan; reads and writes go on)"
        "\nALTER TABLE trees VALIDATE CONSTRAINT ck_trees_usage_count;",
        "-- lock: SHARE ROW EXCLUSIVE on public.ai_sessions (brief; writes wait)\n"
        "CREATE TRIGGER rollup_ai_sessions_insert AFTER INSERT ON ai_sessions",
        "-- lock: SHARE UPDATE EXCLUSIVE on public.trees (for the build; reads and writes go on)"
        "\nCREATE INDEX CONCURRENTLY ix_trees_account_category_key ON public.trees",
        "INSERT INTO analytics_adoption (kind, subject) SELECT 'backfill_pending'",
        f"UPDATE alembic_version SET version_num='{head_revision()}'",
    ):
        assert expected in script, expected
    # Adopted: the accounts are queued for the batches, not built inside a revision.
    assert "rollups_rebuild_account(a)" not in script
    # Each statement that locks a table says how, right above it.
    blocks = script.split("\n\n")
    for block in blocks:
        if block.lstrip().upper().startswith(("ALTER TABLE", "CREATE INDEX", "CREATE TRIGGER")):
            raise AssertionError(f"no lock comment above: {block[:80]}")
    assert not await _has_version_table(empty_database_url)


async def test_sql_on_a_database_at_head_has_nothing_to_apply(empty_database_url: str) -> None:
    done = run("migrate", DATABASE_URL=empty_database_url)
    assert done.returncode == 0, done.stderr

    result = run("migrate", "--sql", DATABASE_URL=empty_database_url)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "-- The SQL `python main.py migrate` runs on this database, in this order. Each",
        "-- transaction waits at most 1000 ms for a lock (lock_timeout), and is",
        "-- retried up to 8 times with a doubling pause when it has to give up.",
        f"-- The database schema is at {head_revision()}: nothing to apply.",
        "",
        "SET lock_timeout = 1000;",
    ]


async def test_bad_input_gets_one_line_and_exit_1(empty_database_url: str) -> None:
    unknown = run("migrate", "--sql", "--to", "0042_nope", DATABASE_URL=empty_database_url)
    assert assert_one_line_failure(unknown) == (
        "error: unknown revision '0042_nope': see migrations/versions for the known ones"
    )
    timeout = run("migrate", "--sql", DATABASE_URL=empty_database_url, MIGRATE_LOCK_TIMEOUT_MS="1s")
    assert assert_one_line_failure(timeout) == (
        "error: MIGRATE_LOCK_TIMEOUT_MS must be a whole number, not '1s'"
    )

    await _execute(empty_database_url, "CREATE TABLE invoices (id int)")
    for args in (("migrate", "--sql"), ("migrate",)):
        other = run(*args, DATABASE_URL=empty_database_url)
        assert assert_one_line_failure(other) == (
            "error: the database holds 1 tables but neither the product's nor a migration "
            "history: not empty, not the product's, not adopted; nothing was changed"
        )

    await _execute(
        empty_database_url,
        "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)",
        "INSERT INTO alembic_version VALUES ('7f3a_billing')",
    )
    foreign = run("migrate", "--sql", DATABASE_URL=empty_database_url)
    assert assert_one_line_failure(foreign) == (
        "error: the database's schema is at '7f3a_billing', a revision this version does not "
        "know: not the analytics' database"
    )


def _start_migrate(url: str, **env: str) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "MIGRATE_"))}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "migrate"],
        cwd=ROOT,
        env={**clean, "DATABASE_URL": url, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


_WAITING = text(
    "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'public.trees'::regclass"
)


async def _reads_while_blocked(url: str, seconds: float) -> list[float]:
    """A product role's plain reads of trees, timed, while migrate queues for its lock."""
    engine = create_engine(url, pool_size=2, max_overflow=0)
    waits: list[float] = []
    try:
        async with engine.connect() as watcher, engine.connect() as reader:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                if not (await watcher.execute(_WAITING)).scalar():
                    await watcher.rollback()
                    await asyncio.sleep(0.02)
                    continue
                await watcher.rollback()
                started = time.monotonic()
                await reader.execute(text("SELECT count(*) FROM trees"))
                waits.append(time.monotonic() - started)
                await reader.rollback()
    finally:
        await engine.dispose()
    return waits


async def test_a_product_read_waits_no_longer_than_the_lock_timeout_and_migrate_retries(
    empty_database_url: str,
) -> None:
    await _product_database(empty_database_url)
    blocker = create_engine(empty_database_url, pool_size=1, max_overflow=0)
    try:
        async with blocker.connect() as holding:
            # A product transaction that reads trees and stays open (ACCESS SHARE).
            await holding.execute(text("SELECT count(*) FROM trees"))
            migrating = _start_migrate(empty_database_url, MIGRATE_LOCK_TIMEOUT_MS="500")
            waits = await _reads_while_blocked(empty_database_url, 7.0)
            await holding.commit()
        out, err = await asyncio.to_thread(migrating.communicate, timeout=120)
    finally:
        await blocker.dispose()

    # Reads queued behind migrate's lock request got through when it gave up (0.5 s).
    assert len(waits) >= 2, (waits, err)
    assert max(waits) < 0.9, waits
    retries = [line for line in err.splitlines() if line.startswith("migrate: ")]
    assert retries, err
    assert "lock not granted within 500 ms" in retries[0]
    assert "; retry 1/8 in 0.25 s" in retries[0]
    assert migrating.returncode == 0, err
    assert out.splitlines()[-1] == f"database schema at {head_revision()} (head)"


async def test_migrate_gives_up_cleanly_after_its_retries_and_resumes(
    empty_database_url: str,
) -> None:
    await _product_database(empty_database_url)
    blocker = create_engine(empty_database_url, pool_size=1, max_overflow=0)
    try:
        async with blocker.connect() as holding:
            # The adoption binds the other tables first (committed), users last: held here.
            await holding.execute(text("SELECT count(*) FROM users"))
            migrating = _start_migrate(
                empty_database_url, MIGRATE_LOCK_TIMEOUT_MS="200", MIGRATE_LOCK_RETRIES="1"
            )
            out, err = await asyncio.to_thread(migrating.communicate, timeout=120)
            await holding.commit()
    finally:
        await blocker.dispose()

    assert migrating.returncode == 1
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["migrate", "error"]
    assert lines[0].startswith(
        "migrate: adopting the product tables: lock not granted within 200 ms "
        "(CREATE POLICY flowpilot_analytics_bound ON users"
    )
    assert "retry 1/1 in 0.25 s" in lines[0]
    assert lines[1].endswith(
        "gave up after 2 attempts: what was done is kept, run migrate again to go on"
    )
    assert out == ""
    async with blocker.connect() as connection:
        stopped_at = await connection.execute(
            text("SELECT kind, subject FROM analytics_adoption ORDER BY kind, subject")
        )
        # Kept: the steps before users'; users' was rolled back, no history recorded yet.
        assert [tuple(row) for row in stopped_at] == [
            ("baseline", "0001_baseline"),
            ("group_role", "flowpilot_analytics"),
            ("policy_bound", "accounts"),
            ("policy_bound", "ai_sessions"),
            ("policy_bound", "trees"),
            ("policy_tenant", "accounts"),
            ("policy_tenant", "ai_sessions"),
            ("policy_tenant", "trees"),
        ]
    await blocker.dispose()
    assert not await _has_version_table(empty_database_url)

    again = run("migrate", DATABASE_URL=empty_database_url)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == f"database schema at {head_revision()} (head)"
