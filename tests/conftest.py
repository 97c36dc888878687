"""Test fixtures: a fresh PostgreSQL database per test run, migrated to head, then dropped.

`TEST_DATABASE_URL` points at a server whose user may create databases; without it
the embedded PostgreSQL in `var/pgdata-test` is used, and stopped when the run ends
(unless `TEST_KEEP_POSTGRES=1` keeps it running, to save its start on the next run).
Tests isolate themselves by creating their own accounts, so they never see each other's
rows.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from persistence.engine import asyncpg_dsn, create_engine, create_sessionmaker
from persistence.operations.migrate import upgrade_engine
from persistence.operations.roles import drop_app_role, ensure_app_role
from service.runtime.embedded import embedded_server_url
from tests.graphql_client import ApiClient, running_app, settings_for_tests
from tests.product_role import grant_product_writes

APP_ROLE_PASSWORD = "app-role-test-password"
TEST_DATA_DIR = Path(__file__).resolve().parent.parent / "var" / "pgdata-test"
KEEP_ENV = "TEST_KEEP_POSTGRES"


def _keep_embedded() -> bool:
    return os.environ.get(KEEP_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _server_url() -> str:
    """TEST_DATABASE_URL, else the embedded server, stopped when pytest exits (unless kept).

    A run that shares the folder with another still running leaves the server to it.
    """
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return embedded_server_url(TEST_DATA_DIR, stop_at_exit=not _keep_embedded())


def _with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


async def create_database(server_url: str, prefix: str = "fp_test") -> str:
    """Create an empty database on the test server and return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(asyncpg_dsn(_with_database(server_url, "postgres")))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return _with_database(server_url, name)


async def drop_database(url: str) -> None:
    name = make_url(url).database
    admin = await asyncpg.connect(asyncpg_dsn(_with_database(url, "postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def server_url() -> str:
    return _server_url()


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    """One migrated database shared by the whole run."""
    url = await create_database(server_url)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        await upgrade_engine(engine)
    finally:
        await engine.dispose()
    yield url
    await drop_database(url)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def empty_database_url(server_url: str) -> AsyncIterator[str]:
    """A database with nothing in it, for migration tests; dropped afterwards."""
    url = await create_database(server_url, prefix="fp_mig")
    yield url
    await drop_database(url)


@pytest.fixture(scope="session")
async def api(database_url: str) -> AsyncIterator[ApiClient]:
    """The real app over in-process HTTP, shared by the run (lifespan started once)."""
    async with running_app(settings_for_tests(database_url)) as client:
        yield client


@pytest.fixture(scope="session")
async def app_role_database_url(database_url: str, engine: AsyncEngine) -> AsyncIterator[str]:
    """The test database's URL as a fresh login role that is neither superuser nor owner."""
    async with _login_role(database_url, engine, "fp_app") as url:
        yield url


@asynccontextmanager
async def _login_role(
    database_url: str, engine: AsyncEngine, prefix: str, *, product_writes: bool = False
) -> AsyncIterator[str]:
    """A fresh role with the API's rights (and the product's writes when asked): its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    async with engine.begin() as connection:
        await ensure_app_role(connection, name, APP_ROLE_PASSWORD)
        if product_writes:
            await grant_product_writes(connection, name)
    url = make_url(database_url).set(username=name, password=APP_ROLE_PASSWORD)
    yield url.render_as_string(hide_password=False)
    async with engine.begin() as connection:
        await drop_app_role(connection, name)


@pytest.fixture(scope="session")
async def role_sessionmaker(
    app_role_database_url: str,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions as the app role, which row-level security binds."""
    engine = create_engine(app_role_database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
async def writer_database_url(database_url: str, engine: AsyncEngine) -> AsyncIterator[str]:
    """The URL of a role with the API's rights plus the product's writes, bound by RLS:
    what a test that plays the product's writers connects as."""
    async with _login_role(database_url, engine, "fp_writer", product_writes=True) as url:
        yield url


@pytest.fixture(scope="session")
async def writer_sessionmaker(
    writer_database_url: str,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions as the product writers' role (writer_database_url)."""
    writer = create_engine(writer_database_url)
    yield create_sessionmaker(writer)
    await writer.dispose()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Nothing below a warning is logged once the run is over: the app's JSON log handler
    stays installed, and the embedded server's stop at exit would print its INFO lines
    after pytest's summary, which must stay the last line."""
    logging.disable(logging.INFO)
