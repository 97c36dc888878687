"""A product role that writes sessions needs no rights on the analytics' own tables: the
rollup and data-version triggers write them with their owner's rights (0009)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.engine import asyncpg_dsn, create_sessionmaker
from persistence.rollups import finish_build

PRODUCT_TABLES = "accounts, users, trees, ai_sessions"


@pytest.fixture
async def product_writer(engine: AsyncEngine) -> AsyncIterator[str]:
    """A login role with the product's data rights only, as the product's own services have."""
    name = f"fp_product_{uuid.uuid4().hex[:10]}"
    async with engine.begin() as connection:
        await connection.execute(text(f'CREATE ROLE "{name}" LOGIN'))
        await connection.execute(text(f'GRANT USAGE ON SCHEMA public TO "{name}"'))
        await connection.execute(
            text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {PRODUCT_TABLES} TO "{name}"')
        )
    yield name
    async with engine.begin() as connection:
        await connection.execute(text(f'DROP OWNED BY "{name}"'))
        await connection.execute(text(f'DROP ROLE "{name}"'))


async def test_product_writes_fire_the_analytics_triggers_without_their_rights(
    engine: AsyncEngine, database_url: str, product_writer: str
) -> None:
    account = uuid.uuid4()
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO accounts (id, name, timezone) VALUES (:id, 'Product MSP', 'UTC')"),
            {"id": account},
        )
    dsn = asyncpg_dsn(
        make_url(database_url).set(username=product_writer).render_as_string(hide_password=False)
    )
    writer = await asyncpg.connect(dsn)
    try:
        async with writer.transaction():
            await writer.execute(
                "SELECT set_config('app.current_account_id', $1, true)", str(account)
            )
            await writer.execute(
                "INSERT INTO ai_sessions (id, account_id, session_type, problem_domain, status, "
                "started_at) VALUES ($1, $2, 'flowpilot', 'Email', 'resolved', $3)",
                uuid.uuid4(),
                account,
                datetime.now(UTC) - timedelta(hours=1),
            )
            await writer.execute(
                "UPDATE accounts SET timezone = 'Europe/Berlin' WHERE id = $1", account
            )
        # The product role itself still may not write the analytics' tables.
        for table in ("rollup_session_blocks", "account_data_versions"):
            assert not await writer.fetchval(
                "SELECT has_table_privilege(current_user, $1, 'INSERT')", table
            )
    finally:
        await writer.close()
    # The time-zone change started a build; the server's background job finishes it.
    await finish_build(create_sessionmaker(engine), account)
    async with engine.connect() as connection:
        sessions = await connection.scalar(
            text(
                "SELECT sum(sessions) FROM rollup_session_blocks "
                "WHERE account_id = :id AND level = 0"
            ),
            {"id": account},
        )
        version = await connection.scalar(
            text("SELECT version FROM account_data_versions WHERE account_id = :id"),
            {"id": account},
        )
    assert sessions == 1
    assert version is not None
