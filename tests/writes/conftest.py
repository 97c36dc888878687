"""Fixtures of the write-path tests: an app with a PSA secret key, the fake ConnectWise
on loopback, and providers pointed at it that retry without waiting."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.psa_connections import ConnectionSettings, StoredConnection, save_connection
from persistence.tenancy import account_transaction
from psa.connectwise import ConnectWiseProvider
from psa.credentials import new_secret_key
from psa.provider import PsaProvider
from psa.retry import RetryPolicy
from tests.factories import AccountBuilder
from tests.fakes.connectwise_server import FakeConnectWise, serve
from tests.graphql_client import ApiClient, running_app, settings_for_tests, token_for
from writes.psa_pushes import PsaPushService

SECRET_KEY = new_secret_key()
# Far above a local answer even on a busy machine; slow(5.0) answers are far beyond it.
PROVIDER_TIMEOUT_S = 1.0
MEMBER_ID = 7


async def _no_wait(_seconds: float) -> None:
    return None


@pytest.fixture(scope="session")
def cw_server() -> Iterator[FakeConnectWise]:
    fake = FakeConnectWise()
    with serve(fake):
        yield fake


@pytest.fixture
def cw(cw_server: FakeConnectWise) -> FakeConnectWise:
    """The running fake with its requests, scripts and tickets (100 and 200) reset."""
    cw_server.reset()
    return cw_server


def provider_factory(fake: FakeConnectWise, max_retries: int = 2):  # type: ignore[no-untyped-def]
    """Real ConnectWise providers at the fake's URL, built from the stored (encrypted) row."""

    def build(connection: StoredConnection, secret_key: bytes) -> PsaProvider:
        return ConnectWiseProvider(
            connection.credentials(secret_key),
            base_url=fake.api_url,
            timeout=PROVIDER_TIMEOUT_S,
            retry_policy=RetryPolicy(
                max_retries=max_retries, backoff_base=0.0, sleep=_no_wait, rand=lambda: 0.0
            ),
        )

    return build


@pytest.fixture(scope="session")
async def writes_api(database_url: str, cw_server: FakeConnectWise) -> AsyncIterator[ApiClient]:
    """The real app (its own instance) with a PSA secret key and ConnectWise = the fake."""
    settings = settings_for_tests(database_url, psa_secret_key=SECRET_KEY)
    async with running_app(settings) as client:
        client.app.state.psa_pushes.provider_factory = provider_factory(cw_server)
        yield client


@pytest.fixture
def pushes(writes_api: ApiClient) -> PsaPushService:
    service: PsaPushService = writes_api.app.state.psa_pushes
    return service


@dataclass
class LinkedAccount:
    """An account with a saved ConnectWise connection and sessions on tickets 100 and 200."""

    builder: AccountBuilder
    session_100: uuid.UUID
    session_200: uuid.UUID
    unlinked_session: uuid.UUID
    engineer_token: str


async def connect_account(
    sessionmaker: async_sessionmaker[AsyncSession], builder: AccountBuilder, fake: FakeConnectWise
) -> None:
    settings = ConnectionSettings(
        site="na.myconnectwise.net",
        codebase="v4_6_release/",
        company_id=fake.company_id,
        public_key=fake.public_key,
        client_id=fake.client_id,
        private_key=fake.private_key,
        default_member_id=MEMBER_ID,
    )
    async with account_transaction(sessionmaker, builder.account_id) as session:
        await save_connection(session, builder.account_id, settings, SECRET_KEY)


@pytest.fixture
async def linked(
    sessionmaker: async_sessionmaker[AsyncSession], cw: FakeConnectWise
) -> LinkedAccount:
    builder = await AccountBuilder.create(sessionmaker)
    await connect_account(sessionmaker, builder, cw)
    started = datetime.now(UTC) - timedelta(hours=2)
    engineer = await builder.user("engineer")
    return LinkedAccount(
        builder=builder,
        session_100=await builder.session(started, ticket="100", user_id=engineer),
        session_200=await builder.session(started, ticket="200", user_id=engineer),
        unlinked_session=await builder.session(started, user_id=engineer),
        engineer_token=token_for(builder.account_id, "engineer", user_id=engineer),
    )
