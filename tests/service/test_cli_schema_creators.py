"""`migrate` refuses a database where roles it does not trust may create objects in schema
public (their code could run with its rights), unless told to trust them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from persistence.engine import asyncpg_dsn
from persistence.operations.migrate import head_revision
from tests.service.test_cli import _revision, run

_WHY = (
    "may create objects in schema public, where migrate resolves names, so its code could "
    "run with the migrating role's rights: REVOKE CREATE ON SCHEMA public FROM "
)
_REFUSED = (
    "error: other roles may create objects in schema public: revoke it as above, or pass "
    "--trust-schema-creators if each is trusted as much as the migrating role; "
    "nothing was changed"
)


@pytest.fixture
async def creator(empty_database_url: str) -> AsyncIterator[tuple[str, asyncpg.Connection]]:
    """A role that may CREATE in the empty database's public schema; the owner's connection."""
    name = f"fp_creator_{uuid.uuid4().hex[:10]}"
    owner = await asyncpg.connect(asyncpg_dsn(empty_database_url))
    await owner.execute(f"CREATE ROLE {name}")
    await owner.execute(f"GRANT CREATE ON SCHEMA public TO {name}")
    yield name, owner
    await owner.execute(f"DROP OWNED BY {name}")
    await owner.execute(f"DROP ROLE {name}")
    await owner.close()


def _without_index_builds(stderr: str) -> list[str]:
    """The lines but migrate's index builds' start and duration and its index drops."""
    progress = ("migrate: buil", "migrate: dropping index ")
    return [line for line in stderr.splitlines() if not line.startswith(progress)]


async def test_migrate_names_each_role_that_may_create_and_changes_nothing(
    empty_database_url: str, creator: tuple[str, asyncpg.Connection]
) -> None:
    name, owner = creator
    result = run("migrate", DATABASE_URL=empty_database_url)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"{name} {_WHY}{name}", _REFUSED]
    assert await _revision(empty_database_url) is None

    # As PostgreSQL 14 and earlier have it: every role may.
    await owner.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
    dry = run("migrate", "--dry-run", DATABASE_URL=empty_database_url)
    assert dry.returncode == 1
    assert dry.stderr.splitlines() == [f"PUBLIC {_WHY}PUBLIC", _REFUSED]

    await owner.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    trusted = run("migrate", "--trust-schema-creators", DATABASE_URL=empty_database_url)
    assert trusted.returncode == 0, trusted.stderr
    assert _without_index_builds(trusted.stderr) == [f"warning: {name} {_WHY}{name}"]
    assert await _revision(empty_database_url) == head_revision()


async def test_migrate_goes_on_when_only_the_owner_may_create(empty_database_url: str) -> None:
    result = run("migrate", DATABASE_URL=empty_database_url)
    assert result.returncode == 0, result.stderr
    assert _without_index_builds(result.stderr) == []
