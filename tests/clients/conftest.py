"""Databases with the demo account (the demo's fixed ids): one shared by the client checks
that only read, and one of its own for a check that changes the data."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from persistence.engine import create_engine
from persistence.operations.demo_seed import seed_demo
from persistence.operations.migrate import upgrade_engine
from tests.conftest import create_database, drop_database


async def _demo_database(server_url: str) -> str:
    url = await create_database(server_url, prefix="fp_clients")
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        await upgrade_engine(engine)
        await seed_demo(engine)
    finally:
        await engine.dispose()
    return url


@pytest.fixture(scope="package")
async def demo_database_url(server_url: str) -> AsyncIterator[str]:
    """A database of its own with the demo account (the demo's fixed ids)."""
    url = await _demo_database(server_url)
    yield url
    await drop_database(url)


@pytest.fixture
async def own_demo_database_url(server_url: str) -> AsyncIterator[str]:
    """The demo account in a database of the test's own, for a check that writes (aliases)."""
    url = await _demo_database(server_url)
    yield url
    await drop_database(url)
