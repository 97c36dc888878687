"""`python main.py migrate` on the product's database, as an operator runs it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from persistence.engine import create_engine
from persistence.migrate import head_revision
from tests.persistence.product_database import create_product_tables
from tests.persistence.test_adoption import adopt, insert_product_rows
from tests.service.test_cli import SECRET, assert_one_line_failure, run


async def _product_database(url: str, *changes: str) -> None:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            await create_product_tables(connection)
            for change in changes:
                await connection.execute(text(change))
        await insert_product_rows(engine, datetime.now(UTC))
    finally:
        await engine.dispose()


async def _has_version_table(url: str) -> bool:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(text("SELECT to_regclass('alembic_version')"))
            return found.scalar() is not None
    finally:
        await engine.dispose()


async def test_dry_run_then_migrate_adopts_the_product_database(empty_database_url: str) -> None:
    await _product_database(empty_database_url)

    dry = run("migrate", "--dry-run", DATABASE_URL=empty_database_url)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "the database holds the product tables without migration history: adopting them",
        "schema check: the product tables have what the analytics need",
        "would enable row-level security on trees",
        "would force row-level security on trees",
        "would create policy tenant_isolation on trees",
        "would force row-level security on users",
        "would create index ix_trees_account_id on trees (account_id)",
        "would create index ix_ai_sessions_user on ai_sessions (user_id)",
        "would record 0001_baseline as present (no product table is created)",
        "would apply 0002_analytics",
        "would apply 0003_psa_write_paths",
        "would apply 0004_rollups",
        "would apply 0005_tree_category_key",
        "would apply 0006_flow_name_order_index",
        "would apply 0007_account_id_function_grants",
        "would apply 0008_data_versions",
        "would apply 0009_triggers_run_as_owner",
        "would apply 0011_rollups_built_in_chunks",
        "would then build the rollups of 2 existing accounts, each in chunks of sessions",
    ]
    assert not await _has_version_table(empty_database_url)

    done = run("migrate", DATABASE_URL=empty_database_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "rollups built for 2 accounts",
        f"database schema at {head_revision()} (head)",
    ]
    progress = done.stderr.splitlines()
    assert [line.split(" (")[0] for line in progress] == [
        "rollups: 1/2 accounts built",
        "rollups: 2/2 accounts built",
    ]

    again = run("migrate", DATABASE_URL=empty_database_url)
    assert (again.returncode, again.stdout, again.stderr) == (
        0,
        f"database schema at {head_revision()} (head)\n",
        "",
    )


async def test_migrate_refuses_a_mismatching_product_database(empty_database_url: str) -> None:
    await _product_database(
        empty_database_url, "ALTER TABLE ai_sessions ALTER COLUMN match_confidence TYPE real"
    )

    for args in (("migrate",), ("migrate", "--dry-run")):
        refused = run(*args, DATABASE_URL=empty_database_url)
        assert refused.returncode == 1
        assert refused.stdout == ""
        assert refused.stderr.splitlines() == [
            "ai_sessions.match_confidence: expected double precision, found real null",
            "error: 1 difference(s) from the product schema the analytics need: "
            "nothing was changed",
        ]
    assert not await _has_version_table(empty_database_url)


async def test_serve_waits_for_the_rollups_of_an_adopted_database(empty_database_url: str) -> None:
    await _product_database(empty_database_url)
    engine = create_engine(empty_database_url, pool_size=1, max_overflow=0)
    try:
        await adopt(engine)  # the schema is at head, no account built yet
    finally:
        await engine.dispose()

    result = run("serve", "--port", "1", DATABASE_URL=empty_database_url, AUTH_JWT_SECRET=SECRET)
    assert assert_one_line_failure(result) == (
        "error: the rollups of 2 adopted accounts are not built yet: "
        "run `python main.py migrate` to finish"
    )
