"""`python main.py migrate` on the product's database, as an operator runs it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import make_url

from persistence.engine import create_engine
from persistence.operations.migrate import head_revision
from persistence.operations.product_rls import group_step
from persistence.operations.roles import drop_app_role
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


def _bind(table: str) -> list[str]:
    """The dry-run's two lines for the policies that bind the analytics' role on `table`."""
    return [
        f"would add policy flowpilot_analytics_bound on {table} (restrictive, for members of "
        "flowpilot_analytics only): they see and change no account but the one their "
        "transaction is bound to, whatever other policies allow; other roles are not affected",
        f"would add policy flowpilot_analytics_tenant on {table} (for members of "
        "flowpilot_analytics only): they see and change the rows of that account; other roles "
        "are not affected",
    ]


async def _ensure_group(url: str) -> None:
    """The server's analytics group, as any earlier adoption on it leaves it."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            step = await connection.run_sync(group_step)
            await connection.execute(text(step.sql))
    finally:
        await engine.dispose()


async def test_dry_run_then_migrate_adopts_the_product_database(empty_database_url: str) -> None:
    await _product_database(empty_database_url)
    await _ensure_group(empty_database_url)

    dry = run("migrate", "--dry-run", DATABASE_URL=empty_database_url)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "the database holds the product tables without migration history: adopting them",
        "schema check: the product tables have what the analytics need",
        "would use the role flowpilot_analytics, which the server has already: the policies "
        "below apply to its members only",
        *[line for table in ("accounts", "ai_sessions", "trees", "users") for line in _bind(table)],
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
        "would apply 0010_definer_names_qualified",
        "would apply 0011_rollups_built_in_chunks",
        "would apply 0012_category_key_expression",
        "would apply 0013_session_domain_key_index",
        "would apply 0014_session_flow_evidence_index",
        "would apply 0015_domain_aliases",
        "would apply 0016_rollup_chunk_costs",
        "each step that changes a product table would run in its own transaction, waiting at "
        "most 1000 ms for its lock (then retried after a pause, so product statements queued "
        "behind it go on); indexes on product tables would be built CONCURRENTLY, the product "
        "reading and writing them meanwhile",
        "would then build the rollups of 2 existing accounts, each in chunks of sessions",
    ]
    assert not await _has_version_table(empty_database_url)

    done = run("migrate", DATABASE_URL=empty_database_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "rollups built for 2 accounts",
        f"database schema at {head_revision()} (head)",
    ]
    lines = done.stderr.splitlines()
    # Each index build on a product table says when it starts and how long it took.
    builds = [line for line in lines if line.startswith("migrate: buil")]
    assert builds[0] == "migrate: building index ix_trees_account_id"
    for started, ended in zip(builds[::2], builds[1::2], strict=True):
        name = started.removeprefix("migrate: building index ")
        rest = r"(; resting \d+\.\d s \(MIGRATE_INDEX_DUTY_CYCLE\))?"
        assert re.fullmatch(rf"migrate: built index {name} in \d+\.\d s{rest}", ended)
    # The flow index that 0014 replaces is never built on the way to head (its pages
    # in the log would only hold up the product's commits), so nothing is dropped either.
    assert "migrate: building index ix_ai_sessions_account_flow_started" not in builds
    assert "migrate: building index ix_ai_sessions_account_flow_started_id" in builds
    drops = [line for line in lines if line.startswith("migrate: dropping")]
    assert drops == []
    # The later revisions' session indexes are built by 0002, before 0004's triggers
    # (0005's trees index comes after them), oldest revision first, each once.
    names = [line.removeprefix("migrate: building index ") for line in builds[::2]]
    ahead = [
        "ix_ai_sessions_account_domain_key_started",
        "ix_ai_sessions_account_flow_started_id",
        "ix_ai_sessions_rollup_build",
    ]
    first = names.index(ahead[0])
    assert names[first : first + 3] == ahead
    assert names.index("ix_psa_activity_log_session") < first
    assert first < names.index("ix_trees_account_category_key")
    assert len(names) == len(set(names))
    progress = [line for line in lines if line not in builds and line not in drops]
    assert progress[0] == (
        "rollups: building 2 accounts, each in chunks sized to take about 200 ms "
        "(ROLLUP_BUILD_CHUNK_TARGET_MS), working 50% of the time (ROLLUP_BUILD_DUTY_CYCLE)"
    )
    assert [line.split(" (")[0] for line in progress[1:]] == [
        "rollups: 1/2 accounts built",
        "rollups: 2/2 accounts built",
    ]
    # Each account's few sessions fit in its first chunk, of 100 (the start of every
    # account), so one chunk each; its size is on the line.
    for line in progress[1:]:
        assert re.search(r"sessions in \d+\.\d s, 1 chunks of 100 sessions, the longest ", line)

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


async def test_migrate_enables_row_security_on_a_product_table_only_behind_the_flag(
    empty_database_url: str,
) -> None:
    await _product_database(
        empty_database_url,
        "ALTER TABLE trees DISABLE ROW LEVEL SECURITY",
        "DROP POLICY trees_own ON trees",
    )
    refusal = (
        "trees: expected row-level security enabled (it binds the analytics' role to one "
        "account), found it off; enabling it would hide every row from the product's roles "
        "but the owner: --enable-row-security enables it with policy "
        "flowpilot_analytics_others, which keeps every row for every role outside "
        "flowpilot_analytics"
    )
    for args in (("migrate",), ("migrate", "--dry-run")):
        refused = run(*args, DATABASE_URL=empty_database_url)
        assert (refused.returncode, refused.stdout) == (1, "")
        assert refused.stderr.splitlines() == [
            refusal,
            "error: 1 difference(s) from the product schema the analytics need: "
            "nothing was changed",
        ]
    assert not await _has_version_table(empty_database_url)

    dry = run("migrate", "--dry-run", "--enable-row-security", DATABASE_URL=empty_database_url)
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    start = lines.index(_bind("trees")[0])
    assert lines[start : start + 4] == [
        *_bind("trees"),
        "would add policy flowpilot_analytics_others on trees: every role outside "
        "flowpilot_analytics sees and changes every row, as now (no effect until row-level "
        "security is on)",
        "would enable row-level security on trees (not forced: its owner is not affected): "
        "the product's roles keep every row through flowpilot_analytics_others, but their "
        "conditions with operators that are not leakproof (LIKE, regular expressions, jsonb) "
        "are checked after the policy and can no longer use an index, and their COPY FROM "
        "into it fails",
    ]
    assert not await _has_version_table(empty_database_url)

    done = run("migrate", "--enable-row-security", DATABASE_URL=empty_database_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"database schema at {head_revision()} (head)"


async def test_serve_refuses_a_role_outside_the_analytics_group(empty_database_url: str) -> None:
    await _product_database(empty_database_url)
    assert run("migrate", DATABASE_URL=empty_database_url).returncode == 0
    role = f"fp_outsider_{uuid.uuid4().hex[:10]}"
    engine = create_engine(empty_database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(f"CREATE ROLE {role} LOGIN PASSWORD 'pw' NOSUPERUSER NOBYPASSRLS")
            )
            await connection.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
        url = make_url(empty_database_url).set(username=role, password="pw")
        result = run(
            "serve",
            "--port",
            "1",
            DATABASE_URL=url.render_as_string(hide_password=False),
            AUTH_JWT_SECRET=SECRET,
        )
        assert assert_one_line_failure(result) == (
            f"error: role {role} is not a member of flowpilot_analytics, so row-level security "
            "does not bind it to one account on the product's tables: run "
            f"`python main.py create-app-role --name {role}` as the migrating role"
        )
    finally:
        async with engine.begin() as connection:
            await drop_app_role(connection, role)
        await engine.dispose()


async def test_serve_refuses_a_read_url_whose_role_is_outside_the_analytics_group(
    empty_database_url: str,
) -> None:
    """The tabs read through DATABASE_READ_URL: its role is checked as DATABASE_URL's is."""
    await _product_database(empty_database_url)
    assert run("migrate", DATABASE_URL=empty_database_url).returncode == 0
    role = f"fp_reader_{uuid.uuid4().hex[:10]}"
    engine = create_engine(empty_database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(f"CREATE ROLE {role} LOGIN PASSWORD 'pw' NOSUPERUSER NOBYPASSRLS")
            )
            await connection.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
        read_url = make_url(empty_database_url).set(username=role, password="pw")
        # DATABASE_URL's role bypasses row-level security (a warning, not a refusal).
        result = run(
            "serve",
            "--port",
            "1",
            DATABASE_URL=empty_database_url,
            DATABASE_READ_URL=read_url.render_as_string(hide_password=False),
            AUTH_JWT_SECRET=SECRET,
        )
        assert result.returncode == 1
        assert result.stderr.splitlines()[-1] == (
            f"error: DATABASE_READ_URL: role {role} is not a member of flowpilot_analytics, so "
            "row-level security does not bind it to one account on the product's tables: run "
            f"`python main.py create-app-role --name {role}` as the migrating role"
        )
    finally:
        async with engine.begin() as connection:
            await drop_app_role(connection, role)
        await engine.dispose()
