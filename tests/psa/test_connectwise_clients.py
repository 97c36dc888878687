"""One ConnectWise HTTP client per process, one concurrency cap per tenant."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

from persistence.psa_connections import StoredConnection
from psa.connectwise import ConnectWiseProvider
from psa.connectwise_clients import ConnectWiseProviders
from psa.credentials import new_secret_key, seal_private_key
from tests.fakes.connectwise_server import FakeConnectWise, slow

KEY = new_secret_key()


def stored(fake: FakeConnectWise, account_id: uuid.UUID) -> StoredConnection:
    return StoredConnection(
        account_id=account_id,
        provider="connectwise",
        site="na.myconnectwise.net",
        codebase="v4_6_release/",
        company_id=fake.company_id,
        public_key=fake.public_key,
        client_id=fake.client_id,
        default_member_id=None,
        updated_at=datetime.now(UTC),
        private_key_encrypted=seal_private_key(fake.private_key, KEY, account_id),
    )


def provider(factory: ConnectWiseProviders, connection: StoredConnection) -> ConnectWiseProvider:
    built = factory(connection, KEY.encode())
    assert isinstance(built, ConnectWiseProvider)
    return built


async def test_providers_share_the_client_and_their_tenant_cap(fake_cw: FakeConnectWise) -> None:
    factory = ConnectWiseProviders(base_url=fake_cw.api_url, tenant_concurrency=2)
    a, b = uuid.uuid4(), uuid.uuid4()
    first, second, other = (provider(factory, stored(fake_cw, account)) for account in (a, a, b))
    assert first._client is second._client is other._client is factory.client
    assert first._semaphore is second._semaphore is not other._semaphore

    # Four slow pushes of one tenant through four providers: two at a time.
    fake_cw.script(*[slow(0.3)] * 4)
    providers = [provider(factory, stored(fake_cw, a)) for _ in range(4)]
    began = time.monotonic()
    await asyncio.gather(
        *(
            p.update_ticket_status("100", 17, idempotency_key=f"{n}")
            for n, p in enumerate(providers)
        )
    )
    assert time.monotonic() - began >= 0.55
    for each in providers:  # closing a provider leaves the shared client open
        await each.aclose()
    assert not factory.client.is_closed
    await factory.aclose()
    assert factory.client.is_closed
