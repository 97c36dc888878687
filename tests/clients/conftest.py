"""One database with the demo account (the demo's fixed ids), shared by the client checks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from persistence.engine import create_engine
from persistence.operations.demo_seed import seed_demo
from persistence.operations.migrate import upgrade_engine
from tests.conftest import create_database, drop_database


@pytest.fixture(scope="package")
async def demo_database_url(server_url: str) -> AsyncIterator[str]:
    """A database of its own with the demo account (the demo's fixed ids)."""
    url = await create_database(server_url, prefix="fp_clients")
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        await upgrade_engine(engine)
        await seed_demo(engine)
    finally:
        await engine.dispose()
    yield url
    await drop_database(url)
