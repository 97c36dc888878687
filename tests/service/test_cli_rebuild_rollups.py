"""`python main.py rebuild-rollups`: chunks sized by time unless `--chunk N` fixes them,
the sizes and the longest chunk on the closing line, the rollups exact either way."""

from __future__ import annotations

import re
import uuid

import asyncpg
import pytest

from persistence.chunk_sizing import ChunkSizing
from persistence.engine import asyncpg_dsn
from service.cli.database import CliError
from service.cli.migrate import _building, build_chunks, build_pacing
from tests.service.test_cli import assert_one_line_failure, run

_CLOSING = re.compile(
    r"rollups rebuilt: 1 accounts in \d+\.\d{3} s "
    r"\(longest chunk \d+\.\d{3} s, chunks of (\d+)(?: to (\d+))? sessions\)"
)
_LEVEL_0 = (
    "SELECT sum(sessions), sum(resolved) FROM rollup_session_blocks "
    "WHERE account_id = $1 AND level = 0"
)


async def _account_of_25_sessions(url: str) -> uuid.UUID:
    """An account with 25 FlowPilot sessions (10 resolved) and 5 assistant sessions."""
    account = uuid.uuid4()
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(
            "INSERT INTO accounts (id, name, timezone) VALUES ($1, 'Chunked', 'UTC')", account
        )
        await connection.execute(
            "INSERT INTO ai_sessions (id, account_id, session_type, problem_domain, status, "
            "started_at) SELECT gen_random_uuid(), $1, "
            "CASE WHEN g > 25 THEN 'assistant' ELSE 'flowpilot' END, 'Network', "
            "CASE WHEN g <= 10 THEN 'resolved' ELSE 'escalated' END, "
            "timestamptz '2024-05-01 12:00Z' + g * interval '1 day' "
            "FROM generate_series(1, 30) AS g",
            account,
        )
    finally:
        await connection.close()
    return account


async def _level_0(url: str, account: uuid.UUID) -> tuple[int, int]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        row = await connection.fetchrow(_LEVEL_0, account)
    finally:
        await connection.close()
    assert row is not None
    return int(row[0]), int(row[1])


async def test_rebuild_rollups_sizes_chunks_by_time_or_by_the_given_count(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    assert run("migrate", DATABASE_URL=url).returncode == 0
    account = await _account_of_25_sessions(url)
    assert await _level_0(url, account) == (25, 10)

    # --chunk 7: 30 sessions in chunks of exactly 7 (five, the last finding 2).
    fixed = run("rebuild-rollups", "--account", str(account), "--chunk", "7", DATABASE_URL=url)
    assert fixed.returncode == 0, fixed.stderr
    found = _CLOSING.fullmatch(fixed.stderr.strip())
    assert found is not None, fixed.stderr
    assert found.groups() == ("7", None)
    assert await _level_0(url, account) == (25, 10)

    # Sized by time: the first chunk of an account takes 100 sessions, so these 30 go in one.
    sized = run("rebuild-rollups", "--account", str(account), DATABASE_URL=url)
    assert sized.returncode == 0, sized.stderr
    found = _CLOSING.fullmatch(sized.stderr.strip())
    assert found is not None, sized.stderr
    assert found.groups() == ("100", None)
    assert await _level_0(url, account) == (25, 10)

    refused = run("rebuild-rollups", DATABASE_URL=url, ROLLUP_BUILD_CHUNK_TARGET_MS="0")
    assert assert_one_line_failure(refused) == (
        "error: ROLLUP_BUILD_CHUNK_TARGET_MS must be a number above 0 and at most 60000, got 0"
    )
    usage = run("rebuild-rollups", "--chunk", "0", DATABASE_URL=url)
    assert usage.returncode == 2 and "not a positive number of sessions: '0'" in usage.stderr


def test_the_build_line_names_the_rule_the_chunks_follow(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`migrate --chunk N` and `rebuild-rollups --chunk N` fix the size; without it the
    setting's target sizes them, and the line `migrate` starts its build with says which."""
    monkeypatch.setenv("ROLLUP_BUILD_CHUNK_TARGET_MS", "150")
    monkeypatch.setenv("ROLLUP_BUILD_DUTY_CYCLE", "0.25")
    for fixed in (7, None):
        _building(3, build_chunks(fixed), build_pacing())
    assert capsys.readouterr().err.splitlines() == [
        "rollups: building 3 accounts, each in chunks of 7 sessions (--chunk), "
        "working 25% of the time (ROLLUP_BUILD_DUTY_CYCLE)",
        "rollups: building 3 accounts, each in chunks sized to take about 150 ms "
        "(ROLLUP_BUILD_CHUNK_TARGET_MS), working 25% of the time (ROLLUP_BUILD_DUTY_CYCLE)",
    ]
    assert build_chunks(7) == ChunkSizing.fixed(7)
    assert build_chunks() == ChunkSizing(target_s=0.15)
    monkeypatch.setenv("ROLLUP_BUILD_CHUNK_TARGET_MS", "soon")
    with pytest.raises(CliError, match="ROLLUP_BUILD_CHUNK_TARGET_MS must be a number"):
        build_chunks()
    assert build_chunks(7) == ChunkSizing.fixed(7)  # the setting is not read then
