"""Fixtures: the fake ConnectWise on a real loopback port, and providers pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from psa.connectwise import ConnectWiseProvider
from psa.credentials import ConnectWiseCredentials
from psa.retry import RetryPolicy
from tests.fakes.connectwise_server import FakeConnectWise, serve


class RecordingSleep:
    """Stands in for asyncio.sleep: remembers the requested delays, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture(scope="session")
def connectwise_server() -> Iterator[FakeConnectWise]:
    fake = FakeConnectWise()
    with serve(fake):
        yield fake


@pytest.fixture
def fake_cw(connectwise_server: FakeConnectWise) -> FakeConnectWise:
    """The running fake, with its requests, scripts and tickets reset for this test."""
    connectwise_server.reset()
    return connectwise_server


@pytest.fixture
def credentials(fake_cw: FakeConnectWise) -> ConnectWiseCredentials:
    return ConnectWiseCredentials(
        site="na.myconnectwise.net",
        codebase="v4_6_release/",
        company_id=fake_cw.company_id,
        public_key=fake_cw.public_key,
        private_key=fake_cw.private_key,
        client_id=fake_cw.client_id,
    )


@pytest.fixture
def sleeper() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def provider(
    fake_cw: FakeConnectWise,
    credentials: ConnectWiseCredentials,
    http_client: httpx.AsyncClient,
    sleeper: RecordingSleep,
) -> ConnectWiseProvider:
    """Three retries; jitter pinned to its maximum so each backoff is base * 2**(n-1)."""
    return ConnectWiseProvider(
        credentials,
        client=http_client,
        base_url=fake_cw.api_url,
        timeout=5.0,
        retry_policy=RetryPolicy(
            max_retries=3, backoff_base=0.5, backoff_max=20.0, sleep=sleeper, rand=lambda: 1.0
        ),
    )
