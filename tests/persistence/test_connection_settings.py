"""The request path's ways into the database connect with one set of settings: the
engine's pool (and so the read snapshot, which drives the pool's connections), the
replica's engine, and the response cache's lookup pool."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from persistence.connection import ConnectionSettings, connection_settings
from service.response_cache.version import StateReader
from service.runtime.database import Database
from tests.graphql_client import settings_for_tests


@pytest.mark.parametrize("pooler", ["none", "pgbouncer"])
async def test_the_engines_and_the_lookup_pool_connect_alike(
    database_url: str, pooler: str
) -> None:
    settings = settings_for_tests(
        database_url,
        database_read_url=database_url,
        database_pooler=pooler,
        connect_timeout_s=2.5,
        statement_timeout_ms=1234,
        pool_size=3,
    )
    database = Database.connect(settings)
    reader = StateReader(database.read_engine)
    try:
        expected = ConnectionSettings.from_settings(settings)
        assert database.read_engine is not database.primary_engine
        assert connection_settings(database.primary_engine) == expected
        assert connection_settings(database.read_engine) == expected
        assert database.read_engine.pool.size() == 3  # type: ignore[attr-defined]
        pool = await reader._open()
        async with pool.acquire() as lookup:
            lookup_name = await lookup.fetchval("SELECT current_setting('application_name')")
            cache_size = lookup._stmt_cache.get_max_size()
        async with database.read_engine.connect() as connection:
            async with connection.begin():
                engine_name, timeout = (
                    await connection.execute(
                        text(
                            "SELECT current_setting('application_name'),"
                            " current_setting('statement_timeout')"
                        )
                    )
                ).one()
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            engine_cache_size = driver._stmt_cache.get_max_size()
        assert lookup_name == engine_name == "flowpilot-analytics"
        assert timeout == "1234ms"  # each of the engine's transactions sets it
        assert cache_size == engine_cache_size == (0 if pooler == "pgbouncer" else 100)
        assert reader._timeout_s == 2.5
    finally:
        await reader.close()
        await database.dispose()
