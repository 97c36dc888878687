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
    "versions/0010_definer_names_qualified.sql": (
        "4a76b09a31d5dfabd48fa3bb01e2f403d7ca16e2c23c65a036a2a3d0438c2d7d"
    ),
}

# The same for the bodies of 0004's functions as the database at head holds them (prosrc):
# no later revision may change what they run either (a redefinition updates this on purpose:
# 0010 qualified every name with its schema).
MIGRATED_ROLLUP_BODIES = {
    "rollup_accounts_timezone": "194e3015180e7f0f7a693658261ba735f81d9cb126ab6f8976e13cd0fdb83b98",
    "rollup_ai_sessions_delete": "2b9e82fafaf45f5240cba898f84c30f3edd937cec3116180e9eb91c4c1a62353",
    "rollup_ai_sessions_insert": "2418b3743a57690e39f1d2f0b69b4fab88854f778882fef38913d47feb68d58a",
    "rollup_ai_sessions_update": "6d6c9ebb252c93d75459bbed5a07c7227a6632c04461d00dab9f2da3848e7d2e",
    "rollup_psa_activity_log_delete": (
        "1161192bc816907f9b576002fb4b8a0d76bacd5fd8a544040b3ac9b40d043efc"
    ),
    "rollup_psa_activity_log_insert": (
        "2af17a172bc9c4ec74143a0223fc3285682f6464652b438a5d8a7ff4bea94afb"
    ),
    "rollup_psa_activity_log_update": (
        "17ba162c148119e2353786b2105a37eb4ec8cbbaa80a80099927076ba2e3ef34"
    ),
    "rollup_zone": "0d24154b449402203454182b853a54aaf8b6b73a06adcac8ffb3f27f698ac90f",
    "rollups_rebuild_account": "9fda054cb17c277d4ed3f537b3b28f288b07606c103ce77ec0ec58fd4f586674",
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
