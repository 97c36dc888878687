"""Run Alembic from code over an open async connection (tests, CLI, readiness)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# Indexes on expressions (e.g. `name COLLATE "C"`) that Alembic's autogenerate cannot
# compare faithfully: it would report them removed and added on every comparison.
EXPRESSION_INDEXES = frozenset({"ix_trees_account_category_key_name"})


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Autogenerate filter: leave out the expression indexes (the migrations own them)."""
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at this repo's migrations, optionally bound to a connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision in the repo."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def _downgrade(connection: Connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(connection: AsyncConnection, revision: str = "head") -> None:
    await connection.run_sync(_upgrade, revision)


async def downgrade(connection: AsyncConnection, revision: str) -> None:
    await connection.run_sync(_downgrade, revision)


async def current_revision(connection: AsyncConnection) -> str | None:
    return await connection.run_sync(_current)


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database behind `engine` in one transaction."""
    async with engine.begin() as connection:
        await upgrade(connection, revision)


async def is_at_head(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        return await current_revision(connection) == head_revision()
