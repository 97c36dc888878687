"""Migrations kept as SQL files: split into statements right, unchanged once released,
shipped as package data, and the rollup triggers' top level is the one the readers use."""

from __future__ import annotations

import hashlib
import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from migrations.sql_script import statements
from persistence.migrate import MIGRATIONS_DIR
from persistence.models.rollups import TOP_LEVEL

PROJECT_ROOT = MIGRATIONS_DIR.parent

# The statements of each SQL file as released (comments aside, which may change): a
# migration that has run must keep running the same SQL, white space in bodies included.
RELEASED = {
    "versions/0004_rollups.sql": "413037d2ac713aaf09f8c7c27b799c95cb4bb79aad419ecaf1a8477961fc5591",
}


def test_statements_split_outside_quotes_bodies_and_comments() -> None:
    script = """
    -- a comment; not a statement
    CREATE TABLE t (note text DEFAULT 'a;b');  -- trailing; comment
    CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $fn$
    BEGIN
      PERFORM 1; -- kept: inside the body
    END
    $fn$;
    DO $do$ BEGIN PERFORM 'it''s;'; END $do$
    """
    assert statements(script) == [
        "CREATE TABLE t (note text DEFAULT 'a;b')",
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $fn$\n    BEGIN\n"
        "      PERFORM 1; -- kept: inside the body\n    END\n    $fn$",
        "DO $do$ BEGIN PERFORM 'it''s;'; END $do$",
    ]


def test_released_migration_sql_is_unchanged() -> None:
    digests = {}
    for path in sorted(MIGRATIONS_DIR.rglob("*.sql")):
        joined = "\n;\n".join(statements(path.read_text(encoding="utf-8")))
        relative = path.relative_to(MIGRATIONS_DIR).as_posix()
        digests[relative] = hashlib.sha256(joined.encode()).hexdigest()
    assert digests == RELEASED


def test_every_migration_sql_file_is_package_data() -> None:
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["migrations"]
    files = [
        Path(path).relative_to(MIGRATIONS_DIR).as_posix() for path in MIGRATIONS_DIR.rglob("*.sql")
    ]
    assert files
    for relative in files:
        assert any(fnmatch(relative, pattern) for pattern in patterns), relative


async def test_the_rollup_functions_build_the_levels_the_readers_use(engine: AsyncEngine) -> None:
    """0004_rollups.sql spells the top level out; persistence.models.rollups.TOP_LEVEL is
    what the analytics read. Every level range in the migrated functions must end there."""
    query = text(
        "SELECT proname, prosrc FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
        "AND proname LIKE 'rollup%' AND prosrc LIKE '%level%'"
    )
    async with engine.connect() as connection:
        bodies = {name: body for name, body in await connection.execute(query)}
    assert set(bodies) == {
        "rollups_rebuild_account",
        *(
            f"rollup_{table}_{op}"
            for table in ("ai_sessions", "psa_activity_log")
            for op in ("insert", "update", "delete")
        ),
    }
    for name, body in bodies.items():
        tops = re.findall(r"generate_series\(0, (\d+)\)|FOR k IN 1\.\.(\d+)", body)
        assert tops, name
        assert {int(first or second) for first, second in tops} == {TOP_LEVEL}, name
