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
    "versions/0011_rollups_built_in_chunks.sql": (
        "b74f95a04ee6c9d3c797c947aaad1cd81c6816cee25d18671e6afb08871ce886"
    ),
}

# The same for the bodies of 0004's functions as the database at head holds them (prosrc):
# no later revision may change what they run either (a redefinition updates this on purpose:
# 0011 gave the triggers the chunked build's fence and watermark, the time-zone trigger and
# the rebuild its start, and derived the two chunk functions from the insert triggers).
MIGRATED_ROLLUP_BODIES = {
    "rollup_accounts_timezone": "ab7c1efcef8b8b7e2cdb6beff25fea04aacd68a46cb9b967eaf1eac1b6692422",
    "rollup_ai_sessions_delete": "add06fae4c75fd989df5dca4a83e6717c01554923eaa8313baf6f9dd5740cb8b",
    "rollup_ai_sessions_insert": "33bb3855f20fef1a8b137b7a12be7c5bf28a0438ce91da25d745f501be922500",
    "rollup_ai_sessions_update": "d6e4791823f0a1189d9df5490f838db8e8bf69c924cff8d83aad12548555611d",
    "rollup_build_activity": "3c6eb04fd1223961d31da9ba6daac914b0339fe324b05e3535550bf09a285a1b",
    "rollup_build_sessions": "6462b95990de69d218d25d6ebe6df03be46004b682250aceaa8e5e7370dfd310",
    "rollup_psa_activity_log_delete": (
        "33f098941b287aa012573f0b15b0552920a1a1655408ab6e334d2c2d876e9e35"
    ),
    "rollup_psa_activity_log_insert": (
        "b67b9a65bb4d291ce0e63fcd29dcbfe520a1e5c1d59fd19b5a6097b67e4c9c21"
    ),
    "rollup_psa_activity_log_update": (
        "8b0c23fa56c342cf253e828ba897ad9a771c33824f3dc4a95e477cd5c800e745"
    ),
    "rollup_zone": "cdda38c092d1ad3a4730eabfcf29495279446ff7159b6c4a1dd33e018d842e9e",
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
