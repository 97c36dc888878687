"""A role that may create objects in `public` and write sessions cannot get its own code run
by the triggers, which run as their owner: every name they use is schema-qualified and
their search_path is pg_catalog's alone (0010)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from persistence.engine import asyncpg_dsn, create_engine
from persistence.operations.migrate import upgrade_engine

ACCOUNT = uuid.UUID("0a0a0a0a-0000-4000-8000-000000000001")
DAY = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)

# What the creating role places in `public`: a nextval(text) that notes who ran it, then
# does what nextval would (so the write succeeds and only the note tells).
_TRAP = """
CREATE TABLE public.trap_calls (run_as text NOT NULL);
GRANT INSERT ON public.trap_calls TO PUBLIC;
CREATE FUNCTION public.nextval(text) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.trap_calls VALUES (current_user);
  RETURN pg_catalog.nextval($1::regclass);
END $$;
"""


async def _migrated(url: str, revision: str) -> None:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        await upgrade_engine(engine, revision)
    finally:
        await engine.dispose()


@pytest.fixture
async def creator(empty_database_url: str) -> AsyncIterator[tuple[str, str, str]]:
    """(owner DSN, creator DSN, creator name): a login role, rights given by _attack."""
    owner_dsn = asyncpg_dsn(empty_database_url)
    name = f"fp_creator_{uuid.uuid4().hex[:10]}"
    owner = await asyncpg.connect(owner_dsn)
    try:
        await owner.execute(f"CREATE ROLE {name} LOGIN")
    finally:
        await owner.close()
    url = make_url(empty_database_url).set(username=name)
    yield owner_dsn, asyncpg_dsn(url.render_as_string(hide_password=False)), name
    owner = await asyncpg.connect(owner_dsn)
    try:
        await owner.execute(f"DROP OWNED BY {name}")
        await owner.execute(f"DROP ROLE {name}")
    finally:
        await owner.close()


async def _attack(owner_dsn: str, creator_dsn: str, name: str) -> tuple[list[str], list[int]]:
    """Set the trap, write as the creator; (the trap's run_as notes, versions after each write)."""
    owner = await asyncpg.connect(owner_dsn)
    await owner.execute(f"GRANT CREATE ON SCHEMA public TO {name}")
    await owner.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON accounts, trees, ai_sessions, "
        f"psa_activity_log TO {name}"
    )
    await owner.execute(
        "INSERT INTO accounts (id, name, timezone) VALUES ($1, 'Creator MSP', 'UTC')", ACCOUNT
    )
    writer = await asyncpg.connect(creator_dsn)
    versions: list[int] = []
    resolved, escalated, flow = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    writes = [
        (
            "INSERT INTO ai_sessions (id, account_id, session_type, problem_domain, status, "
            "started_at) VALUES ($1, $3, 'flowpilot', 'Email', 'resolved', $4), "
            "($2, $3, 'flowpilot', 'Email', 'escalated', $4)",
            resolved,
            escalated,
            ACCOUNT,
            DAY,
        ),
        ("INSERT INTO trees (id, account_id, name) VALUES ($1, $2, 'VPN')", flow, ACCOUNT),
        ("UPDATE trees SET usage_count = usage_count + 1 WHERE id = $1", flow),
        (
            "INSERT INTO psa_activity_log (id, account_id, session_id, activity_type, "
            "hours_logged, psa_ticket_id, provider, external_id, created_at) "
            "VALUES ($1, $2, $3, 'time_entry_posted', 1.5, 'T-1', 'connectwise', 'e-1', $4)",
            uuid.uuid4(),
            ACCOUNT,
            resolved,
            DAY,
        ),
        ("UPDATE accounts SET timezone = 'Europe/Berlin' WHERE id = $1", ACCOUNT),
        ("DELETE FROM ai_sessions WHERE id = $1", escalated),
    ]
    try:
        await writer.execute(_TRAP)
        for statement, *args in writes:
            async with writer.transaction():
                await writer.execute(
                    "SELECT set_config('app.current_account_id', $1, true)", str(ACCOUNT)
                )
                await writer.execute(statement, *args)
            versions.append(
                await owner.fetchval(
                    "SELECT version FROM account_data_versions WHERE account_id = $1", ACCOUNT
                )
            )
        notes = [row["run_as"] for row in await owner.fetch("SELECT run_as FROM trap_calls")]
        assert versions[-1] == await owner.fetchval("SELECT last_value FROM data_version_seq")
    finally:
        await writer.close()
        await owner.close()
    return notes, versions


async def _rollups(owner_dsn: str) -> tuple[object, ...]:
    """The account's sums, once the build its time-zone change started is finished (0011:
    a change of zone starts a build in chunks that a background job finishes)."""
    owner = await asyncpg.connect(owner_dsn)
    try:
        while not await owner.fetchval("SELECT public.rollup_build_step($1, 1000)", ACCOUNT):
            pass
        assert await owner.fetchval("SELECT count(*) FROM trap_calls") == 0
        await owner.execute("SELECT set_config('app.current_account_id', $1, false)", str(ACCOUNT))
        sessions = await owner.fetchrow(
            "SELECT sum(sessions) AS sessions, sum(resolved) AS resolved, "
            "sum(escalated) AS escalated, sum(time_logged) AS time_logged "
            "FROM rollup_session_blocks WHERE level = 0"
        )
        days = await owner.fetch("SELECT day, time_entries, hours FROM rollup_psa_days")
    finally:
        await owner.close()
    return tuple(sessions), [tuple(row) for row in days]


async def test_code_placed_in_public_never_runs_as_the_trigger_owner(
    empty_database_url: str, creator: tuple[str, str, str]
) -> None:
    await _migrated(empty_database_url, "head")
    owner_dsn, _, _ = creator
    notes, versions = await _attack(*creator)
    assert notes == []  # the creator's nextval never ran, as anyone
    assert versions == sorted(set(versions))  # every write moved the version on
    # One session left (resolved, 5 March, 11:00 in Berlin), its 1.5 h time entry that day;
    # it has no ticket, so no time_logged flag.
    assert await _rollups(owner_dsn) == (
        (1, 1, 0, 0),
        [(datetime(2024, 3, 5).date(), 1, 1.5)],
    )


async def test_the_same_trap_ran_as_the_owner_before_names_were_qualified(
    empty_database_url: str, creator: tuple[str, str, str]
) -> None:
    """The attack above is a real one: at 0009 the owner's trigger ran the creator's code."""
    await _migrated(empty_database_url, "0009_triggers_run_as_owner")
    notes, _ = await _attack(*creator)
    owner = make_url(empty_database_url).username
    # One call per write statement that bumps a version: all six, as the owner.
    assert notes == [owner] * 6


async def test_every_function_that_runs_as_its_owner_searches_pg_catalog_alone(
    empty_database_url: str,
) -> None:
    """Each SECURITY DEFINER function of every revision pins `search_path` to pg_catalog and
    pg_temp: with `public` on it, an unqualified call would resolve to a function a
    creating role placed there (the attack above)."""
    await _migrated(empty_database_url, "head")
    owner = await asyncpg.connect(asyncpg_dsn(empty_database_url))
    try:
        rows = await owner.fetch(
            "SELECT p.proname, p.proconfig FROM pg_catalog.pg_proc p"
            " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
            " WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " ORDER BY p.proname"
        )
    finally:
        await owner.close()
    names = {row["proname"] for row in rows}
    assert {"data_version_domain_aliases_insert", "rollup_build_step"} <= names
    wrong = {
        row["proname"]: row["proconfig"]
        for row in rows
        if "search_path=pg_catalog, pg_temp" not in (row["proconfig"] or [])
    }
    assert wrong == {}
