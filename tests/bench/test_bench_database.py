"""`python -m bench generate` drops only databases it created, and fails in one line."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bench.database import MARK, BenchError, recreate_database
from persistence.engine import asyncpg_dsn
from tests.conftest import drop_database

ROOT = Path(__file__).resolve().parents[2]


async def _mark_and_tables(url: str) -> tuple[str | None, int]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        mark = await connection.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
            " WHERE datname = current_database()"
        )
        tables = await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
    finally:
        await connection.close()
    return mark, tables


async def test_a_database_it_did_not_create_is_never_dropped(empty_database_url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(empty_database_url))
    try:
        await connection.execute("CREATE TABLE precious (id int)")
    finally:
        await connection.close()
    name = make_url(empty_database_url).database
    with pytest.raises(BenchError, match=f"database {name} on .* was not created by the bench"):
        await recreate_database(empty_database_url)
    assert await _mark_and_tables(empty_database_url) == (None, 1)  # still there, untouched


async def test_its_own_database_is_marked_and_recreated(server_url: str) -> None:
    name = f"fp_bench_{uuid.uuid4().hex[:10]}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        await recreate_database(url)
        connection = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await connection.execute("CREATE TABLE leftover (id int)")
        finally:
            await connection.close()
        assert await _mark_and_tables(url) == (MARK, 1)
        await recreate_database(url)  # marked: dropped and created empty again
        assert await _mark_and_tables(url) == (MARK, 0)
    finally:
        await drop_database(url)


def test_an_unreachable_server_is_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "generate", "--scale", "XS",
         "--database-url", "postgresql://postgres@127.0.0.1:1/flowpilot_bench_xs"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot connect to PostgreSQL at 127.0.0.1:1: ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
