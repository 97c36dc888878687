"""Alembic environment: runs on a connection handed in by the caller, or prints SQL.

Tests and the CLI pass an open connection in `config.attributes["connection"]`
(through `AsyncConnection.run_sync`), so no second event loop is ever started. With
`config.attributes["online"]` set (persistence.operations.migrate.upgrade_online) each revision runs
in its own transaction, as the product's database needs; otherwise everything runs in
the caller's one transaction. Offline (`migrate --sql`) the SQL is written to the
config's output buffer, as it would run online.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from migrations.online import ONLINE
from persistence.engine import create_engine
from persistence.models import Base
from persistence.operations.migrate import include_object

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_object=include_object,
        transaction_per_migration=bool(config.attributes.get(ONLINE)),
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_on_url(url: str) -> None:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url given to Alembic")
    asyncio.run(_run_on_url(url))


def run_migrations_offline() -> None:
    context.configure(
        dialect_name="postgresql",
        literal_binds=True,
        # Named parameters: a `%` in a statement is printed as it is, not doubled.
        dialect_opts={"paramstyle": "named"},
        transaction_per_migration=True,
        output_buffer=config.attributes.get("output_buffer"),
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
