"""Fixtures of the cache suite: Redis (the app role's sessions, which RLS binds to the
version rows, come from tests/conftest.py)."""

from __future__ import annotations

import os

import pytest

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def redis_reachable(url: str) -> str | None:
    """None when Redis answers a PING, else why not."""
    import redis.asyncio as redis

    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    finally:
        await client.aclose()
    return None


@pytest.fixture
async def redis_url() -> str:
    """Redis for the shared tier: skipped locally when absent, a failure in CI."""
    reason = await redis_reachable(REDIS_URL)
    if reason is not None:
        message = f"Redis at {REDIS_URL} is not reachable ({reason})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return REDIS_URL
