"""Fixtures of the PgBouncer suite: a transaction-pooling PgBouncer this run starts in
front of the test database, and the app role's and the owner's URLs through it.

Without PgBouncer installed the suite is skipped locally and fails in CI (`CI` set).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import APP_ROLE_PASSWORD
from tests.pgbouncer.bouncer import Bouncer, BouncerUnavailable, unavailable_means_failure
from tests.writes.conftest import cw, cw_server

__all__ = ["cw", "cw_server"]  # the fake ConnectWise, for the PSA push


def start_bouncer(
    root: Path, database_url: str, app_role_url: str, *, pool_size: int = 2
) -> Bouncer:
    """A PgBouncer for the owner (the server URL's role) and the app role, or the test's
    skip (a failure in CI) when none can start here."""
    owner = make_url(database_url)
    users = {
        owner.username or "postgres": owner.password or "",
        make_url(app_role_url).username or "": APP_ROLE_PASSWORD,
    }
    try:
        return Bouncer.start(root, database_url, users, pool_size=pool_size)
    except BouncerUnavailable as error:
        message = f"cannot start PgBouncer here: {error}"
        if unavailable_means_failure():
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def bouncer(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, app_role_database_url: str
) -> Iterator[Bouncer]:
    """Two server connections per role: the app's clients take turns on them."""
    started = start_bouncer(
        Path(tmp_path_factory.mktemp("pgbouncer")), database_url, app_role_database_url
    )
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def bounced_app_url(bouncer: Bouncer, app_role_database_url: str) -> str:
    """The app role (row-level security binds it) through PgBouncer."""
    return bouncer.url(app_role_database_url)


@pytest.fixture(scope="session")
def bounced_owner_url(bouncer: Bouncer, database_url: str) -> str:
    """The database's owner through PgBouncer (what the CLI and the jobs connect as)."""
    return bouncer.url(database_url)


@pytest.fixture
def single_bouncer(
    tmp_path: Path, database_url: str, app_role_database_url: str
) -> Iterator[Bouncer]:
    """One server connection per role: every client runs on the very same one."""
    started = start_bouncer(tmp_path, database_url, app_role_database_url, pool_size=1)
    try:
        yield started
    finally:
        started.stop()
