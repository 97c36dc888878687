"""Run Alembic from code over an open async connection (tests, CLI, readiness)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# Indexes on expressions (e.g. `name COLLATE "C"`) that Alembic's autogenerate cannot
# compare faithfully: it would report them removed and added on every comparison.
# Present only in a database adopted from the product (persistence.adoption): what the
# adoption added to the product tables, and the accounts whose rollups are still to build.
ADOPTION_MARKER = "analytics_adoption"

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


def upgrade_sync(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def _exists(connection: Connection, table: str) -> bool:
    query = text(f"SELECT to_regclass('public.{table}') IS NOT NULL")
    return bool(connection.execute(query).scalar())


def _downgrade(connection: Connection, revision: str) -> None:
    """Downgrade; an adopted database left at base loses the version table we brought too.

    (Alembic creates the table even when there is nothing to downgrade, e.g. on the
    product's database before adoption; that one goes as well.)
    """
    adopted = _exists(connection, ADOPTION_MARKER)
    had_versions = _exists(connection, "alembic_version")
    command.downgrade(alembic_config(connection), revision)
    if (adopted or not had_versions) and _current(connection) is None:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(connection: AsyncConnection, revision: str = "head") -> None:
    await connection.run_sync(upgrade_sync, revision)


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
