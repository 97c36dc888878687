"""A pooled connection closed by the server is replaced at checkout, without a failure."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from persistence.engine import create_engine


async def test_terminated_pooled_connections_are_replaced(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=2, max_overflow=0)
    observer = create_engine(database_url, pool_size=1, max_overflow=0)
    closed = asyncio.Event()

    def on_close(_connection: Any) -> None:
        closed.set()

    try:
        async with engine.connect() as connection:
            first_pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            raw = await connection.get_raw_connection()
            raw.driver_connection.add_termination_listener(on_close)  # type: ignore[union-attr]
        async with observer.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
        # The idle pooled socket sees the server close it: wait for that, not for a time.
        await asyncio.wait_for(closed.wait(), timeout=30)
        async with engine.connect() as connection:
            second_pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert second_pid != first_pid
    finally:
        await engine.dispose()
        await observer.dispose()
