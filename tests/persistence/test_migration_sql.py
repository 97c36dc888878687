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
from persistence.models.rollups import TOP_LEVEL
from persistence.operations.migrate import MIGRATIONS_DIR

PROJECT_ROOT = MIGRATIONS_DIR.parent

# The statements of each SQL file as released, without comments and with each run of white
# space one space (see without_layout): a migration that has run must keep running the same
# SQL; only its layout and comments may change, in function bodies too.
RELEASED = {
    "versions/0004_rollups.sql": "93a0616648ae106937f1ba494b25bb5e7ef99f9884febe4e4a0b14a1696c3076",
    "versions/0010_definer_names_qualified.sql": (
        "4a76b09a31d5dfabd48fa3bb01e2f403d7ca16e2c23c65a036a2a3d0438c2d7d"
    ),
    "versions/0011_rollups_built_in_chunks.sql": (
        "7cf0cd38cf6249ea8fe9e78b1ca065c08e49f48035f35be427bb402666eb4100"
    ),
}

# The same for the bodies of 0004's functions as the database at head holds them (prosrc):
# no later revision may change what they run either (a redefinition updates this on purpose:
# 0010 qualified every name with its schema; 0011 gave the triggers the chunked build's
# fence and watermark, the time-zone trigger and the rebuild its start, and derived the
# two chunk functions from the insert triggers; 0016 made the sessions' chunk function
# compute each session's facts once, in a MATERIALIZED CTE).
MIGRATED_ROLLUP_BODIES = {
    "rollup_accounts_timezone": "ab7c1efcef8b8b7e2cdb6beff25fea04aacd68a46cb9b967eaf1eac1b6692422",
    "rollup_ai_sessions_delete": "80bfd835088023d04838e6bf14dbd232c3c6fcc171d7e52f4f15449125d84b1b",
    "rollup_ai_sessions_insert": "2a49bde361bf5c8a73cafeabb92fc15d5c7ae046a9f29d7b59ca6dbb9ae777b8",
    "rollup_ai_sessions_update": "5a6059bad4e84a603d37bb857ea2ddd69b23d8657eb4e39bbc2ee29d478af0c0",
    "rollup_build_activity": "c1583213f8f5de75fb085a0a7845340c95a755c868349f2c55ce98431f32fb00",
    "rollup_build_sessions": "25b8ce8074a639c11a3ec3cc7672efcfde3cf836edbb5426aa455f1fc35aaf27",
    "rollup_psa_activity_log_delete": (
        "cbfbe097ccc251aaa488108b80daf3bd5fbfe12b19eae2416dd992b344b84acb"
    ),
    "rollup_psa_activity_log_insert": (
        "10a41295d5e2cca2a0aaf13d3c3aee63f6e71bc4cba0a11aca230bae4ec3b4ac"
    ),
    "rollup_psa_activity_log_update": (
        "5d21d3c405e4de4ae96da4a4a4ec22bad299134d3044967e1c4b1eb191ad66eb"
    ),
    "rollup_zone": "0d24154b449402203454182b853a54aaf8b6b73a06adcac8ffb3f27f698ac90f",
    "rollups_rebuild_account": "15bd5998c2b5d68cd70ff798baa1a53e5b95e84da41852cc7f5495f99cd77ee9",
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
        "rollup_build_sessions",
        "rollup_build_activity",
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
