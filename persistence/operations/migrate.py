"""Run Alembic from code over an open async connection (tests, CLI, readiness)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.operations.ddl_locks import Statements
from persistence.operations.online_ddl import LockPolicy, run_with_retries

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

# Indexes on expressions (e.g. `name COLLATE "C"`) that Alembic's autogenerate cannot
# compare faithfully: it would report them removed and added on every comparison.
# Present only in a database adopted from the product (persistence.operations.adoption): what the
# adoption added to the product tables, and the accounts whose rollups are still to build.
ADOPTION_MARKER = "analytics_adoption"

EXPRESSION_INDEXES = frozenset(
    {
        "ix_trees_account_category_key",
        "ix_trees_account_category_key_name",
        "ix_ai_sessions_account_domain_key_started",
    }
)


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Autogenerate filter: leave out the expression indexes (the migrations own them)."""
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


def alembic_config(
    connection: Connection | None = None, policy: LockPolicy | None = None
) -> Config:
    """An Alembic config pointing at this repo's migrations, optionally bound to a
    connection; with a lock policy each revision runs in its own transactions
    (migrations/online.py) instead of all in the caller's one."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    if policy is not None:
        config.attributes["online"] = True
        config.attributes["lock_timeout_ms"] = policy.timeout_ms
        config.attributes["index_build"] = policy.index_build
    return config


def head_revision() -> str:
    """The newest revision in the repo."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def upgrade_sync(connection: Connection, revision: str) -> None:
    """Upgrade in the caller's one transaction: for a new, empty database only."""
    command.upgrade(alembic_config(connection), revision)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def upgrade_online(
    connection: Connection,
    revision: str,
    policy: LockPolicy | None = None,
    progress: Callable[[str], None] = _progress,
) -> None:
    """Upgrade revision by revision, each step its own transaction under the lock timeout
    (persistence.operations.online_ddl); commits whatever the connection had begun first."""
    policy = policy or LockPolicy()

    def where() -> str:
        current = _current(connection)
        connection.rollback()
        return f"applying {_next_revision(current, revision)}"

    run_with_retries(
        connection,
        lambda: command.upgrade(alembic_config(connection, policy), revision),
        policy,
        progress,
        where,
    )


def _next_revision(current: str | None, target: str) -> str:
    script = ScriptDirectory.from_config(alembic_config())
    steps = list(script.iterate_revisions(target, current or "base"))
    return steps[-1].revision if steps else target


def upgrade_sql(
    start: str | None,
    target: str,
    policy: LockPolicy,
    adopted: bool = False,
    script_location: Path = MIGRATIONS_DIR,
    legacy_category_key: bool = False,
) -> list[str]:
    """The statements an online upgrade from `start` (None: an empty database) to
    `target` runs, one by one, without a database (Alembic's offline mode); what the
    revisions need to know of the database is passed in (`adopted`, `legacy_category_key`)."""
    buffer = Statements()
    config = alembic_config(policy=policy)
    config.set_main_option("script_location", str(script_location))
    config.attributes["output_buffer"] = buffer
    config.attributes["adopted"] = adopted
    config.attributes["legacy_category_key"] = legacy_category_key
    command.upgrade(config, f"{start}:{target}" if start else target, sql=True)
    return buffer.units


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
    """Upgrade the database behind `engine` as `migrate` does, step by step."""
    async with engine.connect() as connection:
        await connection.run_sync(upgrade_online, revision)


async def is_at_head(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        return await current_revision(connection) == head_revision()


def has_legacy_category_key(connection: Connection) -> bool:
    """Whether `trees` has the stored `category_key` column of the first 0005 (0012 drops it)."""
    query = text(
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute WHERE attrelid = "
        "to_regclass('public.trees') AND attname = 'category_key' AND NOT attisdropped)"
    )
    return bool(connection.execute(query).scalar())
