"""`python main.py migrate` on a product database adopted by earlier releases: the dry
run and the SQL say what the repair does to the product's roles, migrate repairs it,
and a table not as that adoption left it is refused with exit 1 and nothing changed."""

from __future__ import annotations

from sqlalchemy import text

from persistence.engine import create_engine
from persistence.operations.migrate import head_revision
from tests.persistence.legacy_adoption import adopt_as_earlier_releases_did
from tests.service.test_cli import run
from tests.service.test_cli_adoption import _product_database

# The product of tests/persistence/product_database.py with trees and its policy left
# without row-level security: the earlier adoption enabled, forced and isolated trees.
_TREES_WITHOUT_RLS = (
    "DROP POLICY trees_own ON trees",
    "ALTER TABLE trees DISABLE ROW LEVEL SECURITY",
)


async def _as_earlier_releases_left_it(url: str, *changes: str) -> None:
    await _product_database(url, *_TREES_WITHOUT_RLS)
    engine = create_engine(url, pool_size=2, max_overflow=0)
    try:
        await adopt_as_earlier_releases_did(engine)
        async with engine.begin() as connection:
            for change in changes:
                await connection.execute(text(change))
    finally:
        await engine.dispose()


async def _security(url: str) -> list[tuple[object, ...]]:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
                    "array(SELECT polname::text FROM pg_policy WHERE polrelid = c.oid "
                    "ORDER BY polname) FROM pg_class c WHERE c.relname IN "
                    "('accounts', 'users', 'trees', 'ai_sessions') ORDER BY c.relname"
                )
            )
            return [tuple(row) for row in rows]
    finally:
        await engine.dispose()


TREES_EFFECT = "product roles will again see all rows of trees and may write any row of it"


async def test_dry_run_sql_and_migrate_repair_an_earlier_adoption(empty_database_url: str) -> None:
    url = empty_database_url
    await _as_earlier_releases_left_it(url)
    before = await _security(url)
    assert before[2] == ("trees", True, True, ["tenant_isolation"])

    dry = run("migrate", "--dry-run", DATABASE_URL=url)
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    repaired = [line for line in lines if line.startswith("would repair")]
    assert [line.split(" as ")[0] for line in repaired] == [
        "would repair trees",
        "would repair users",
    ]
    assert TREES_EFFECT in repaired[0]
    assert lines[-2] == f"the database schema is at {head_revision()}: nothing to apply"

    sql = run("migrate", "--sql", DATABASE_URL=url)
    assert sql.returncode == 0, sql.stderr
    assert "-- It would repair trees as an earlier adoption left it" in sql.stdout
    assert TREES_EFFECT in sql.stdout
    assert "DROP POLICY tenant_isolation ON trees;" in sql.stdout
    assert "ALTER TABLE trees NO FORCE ROW LEVEL SECURITY;" in sql.stdout
    assert await _security(url) == before

    done = run("migrate", DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    after = await _security(url)
    analytics = ["flowpilot_analytics_bound", "flowpilot_analytics_tenant"]
    assert after == [
        ("accounts", True, True, ["accounts_own", *analytics]),
        ("ai_sessions", True, True, [*analytics, "sessions_own"]),
        ("trees", True, False, [*analytics[:1], "flowpilot_analytics_others", analytics[1]]),
        ("users", True, False, [*analytics, "users_own"]),
    ]

    again = run("migrate", "--dry-run", DATABASE_URL=url)
    assert again.stdout.splitlines() == [
        f"the database schema is at {head_revision()}: nothing to apply"
    ]


async def test_migrate_refuses_a_table_not_as_the_earlier_adoption_left_it(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await _as_earlier_releases_left_it(url, "ALTER TABLE trees NO FORCE ROW LEVEL SECURITY")
    before = await _security(url)
    for args in (("--dry-run",), ("--sql",), ()):
        refused = run("migrate", *args, DATABASE_URL=url)
        assert refused.returncode == 1, refused.stderr
        assert "Traceback" not in refused.stderr
        assert refused.stderr.splitlines() == [
            "trees: an earlier adoption recorded policy tenant_isolation and forced row-level "
            "security, found policy tenant_isolation for every role, permissive, command *, "
            "USING (account_id = (current_setting('app.current_account_id'::text, true))::uuid), "
            "WITH CHECK (account_id = (current_setting('app.current_account_id'::text, "
            "true))::uuid), row-level security not forced: not what it left, so it is not "
            "repaired; make trees as the product needs it (e.g. `DROP POLICY tenant_isolation "
            "ON trees` if the product does not use it, `DELETE FROM analytics_adoption WHERE "
            "subject = 'trees' AND kind IN ('policy', 'rls_forced', 'rls_enabled')` once it "
            "is), then run migrate again",
            "error: 1 table(s) not as an earlier adoption left them, not repaired: nothing "
            "was changed",
        ]
    assert await _security(url) == before
