"""Migrations kept as SQL files: split into statements right, unchanged once released
(layout and comments aside), shipped as package data, and the rollup triggers' top level
is the one the readers use."""

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

# The statements of each SQL file as released, without comments and with each run of white
# space one space (see without_layout): a migration that has run must keep running the same
# SQL; only its layout and comments may change, in function bodies too.
RELEASED = {
    "versions/0004_rollups.sql": "93a0616648ae106937f1ba494b25bb5e7ef99f9884febe4e4a0b14a1696c3076",
}

# The same for the bodies of 0004's functions as the database at head holds them (prosrc):
# no later revision may change what they run either (a redefinition updates this on purpose).
MIGRATED_ROLLUP_BODIES = {
    "rollup_accounts_timezone": "af02465838c4b1d396aa8d867f5e4cf8decea938995422206b4f7d3f45f17a1e",
    "rollup_ai_sessions_delete": "0799d8c546d1558c3a91a0ce68ed64270d3e8142759ab17a88268d475c9eb991",
    "rollup_ai_sessions_insert": "96e4a82c1096b178b407d442108c64ff1ec6f71d0ae62146bb2fe9867b5e6b93",
    "rollup_ai_sessions_update": "a4004a4e899a0ae2274e29c535a4b42c4ed2f1af88080047efa51e32e2f7815f",
    "rollup_psa_activity_log_delete": (
        "9a95d73fe8bc01f7d49519ad1e89d169b1714d9244a16ebacc6bfc4869e23944"
    ),
    "rollup_psa_activity_log_insert": (
        "7bbd5465c8887c0fa8db1c6637a9bbfd969f572cc10ac0c49324a9d471abd68c"
    ),
    "rollup_psa_activity_log_update": (
        "90005cba3cb926de98eb7d7ef70000487f553ed05c10719e4d2b4f4b8dca8ef8"
    ),
    "rollup_zone": "cdda38c092d1ad3a4730eabfcf29495279446ff7159b6c4a1dd33e018d842e9e",
    "rollups_rebuild_account": "b1ab71c1c69184e7de17e90195db35debd1c451c233e96723c26c5717615d10e",
}

# A quoted string or identifier (kept), else a run of white space and comments.
_LAYOUT = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*")|(?:\s|--[^\n]*|/\*.*?\*/)+""", re.DOTALL)


def without_layout(sql: str) -> str:
    """`sql` with comments dropped and each run of white space made one space, quoted
    strings and identifiers kept as written: what re-flowing the SQL may not change.

    Only a run of white space (or comments) becomes a space, so equal results mean the same
    tokens in the same order. Not told apart: dollar-quoted strings inside a body and E''
    strings holding \\' (the released files have none).
    """
    return _LAYOUT.sub(lambda match: match[1] or " ", sql).strip()


def _digest(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()


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


def test_without_layout_keeps_tokens_and_quoted_text() -> None:
    script = """SELECT  a,\n\t'x  -- y' AS "b  c" -- why
    /* a note */ FROM t  -- the end"""
    assert without_layout(script) == """SELECT a, 'x  -- y' AS "b  c" FROM t"""
    assert without_layout("regexp_replace(x, '\\s+', ' ', 'g')") == (
        "regexp_replace(x, '\\s+', ' ', 'g')"
    )
    assert without_layout("a\n  -- note\n  ;") == "a ;"
    assert without_layout("a;") != without_layout("a ;")


def test_released_migration_sql_is_unchanged() -> None:
    digests = {}
    for path in sorted(MIGRATIONS_DIR.rglob("*.sql")):
        script = statements(path.read_text(encoding="utf-8"))
        relative = path.relative_to(MIGRATIONS_DIR).as_posix()
        digests[relative] = _digest("\n;\n".join(without_layout(s) for s in script))
    assert digests == RELEASED


async def test_migrated_rollup_function_bodies_are_the_released_ones(engine: AsyncEngine) -> None:
    query = text(
        "SELECT proname, prosrc FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
        "AND proname = ANY(:names)"
    )
    async with engine.connect() as connection:
        rows = await connection.execute(query, {"names": list(MIGRATED_ROLLUP_BODIES)})
        digests = {name: _digest(without_layout(body)) for name, body in rows}
    assert digests == MIGRATED_ROLLUP_BODIES


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
