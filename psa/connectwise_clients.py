"""The process's ConnectWise HTTP client: one pool of connections for every tenant, and
one concurrency cap per tenant that every push of that tenant shares.

A provider per push with its own client opened a new TLS connection each time, and its
own semaphore capped nothing. This factory is built once at start and closed at
shutdown (`aclose`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from typing import Protocol

import httpx

from psa.connectwise import ConnectWiseProvider
from psa.credentials import ConnectWiseCredentials
from psa.errors import PsaConfigurationError
from psa.provider import PsaProvider
from psa.sites import SiteError, allowed_codebase, allowed_site

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_TENANT_CONCURRENCY = 4


class SavedConnection(Protocol):
    """What a provider is built from: an account's saved connection (its row in
    `persistence.psa_connections`), whose private key opens with the secret key."""

    @property
    def account_id(self) -> uuid.UUID: ...

    @property
    def site(self) -> str: ...

    @property
    def codebase(self) -> str: ...

    def credentials(self, secret_key: bytes) -> ConnectWiseCredentials: ...


class ConnectWiseProviders:
    """Builds `ConnectWiseProvider`s on the shared client; `base_url` is for tests.

    The stored site is checked again before any request (rows saved before the check
    existed, or written around the API): only ConnectWise's cloud and `extra_hosts`.
    """

    def __init__(
        self,
        *,
        extra_hosts: Iterable[str] = (),
        timeout: float = DEFAULT_TIMEOUT_S,
        tenant_concurrency: int = DEFAULT_TENANT_CONCURRENCY,
        base_url: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._timeout = timeout
        self._tenant_concurrency = tenant_concurrency
        self._base_url = base_url
        self._extra_hosts = frozenset(extra_hosts)
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            follow_redirects=False,
        )
        self._semaphores: dict[uuid.UUID, asyncio.Semaphore] = {}

    def semaphore(self, account_id: uuid.UUID) -> asyncio.Semaphore:
        """The account's cap on concurrent ConnectWise requests (in this process)."""
        if account_id not in self._semaphores:
            self._semaphores[account_id] = asyncio.Semaphore(self._tenant_concurrency)
        return self._semaphores[account_id]

    def __call__(self, connection: SavedConnection, secret_key: bytes) -> PsaProvider:
        try:
            allowed_site(connection.site, self._extra_hosts)
            allowed_codebase(connection.codebase)
        except SiteError:
            raise PsaConfigurationError(
                "the saved ConnectWise site is not allowed; save the PSA connection again"
            ) from None
        return ConnectWiseProvider(
            connection.credentials(secret_key),
            client=self.client,
            base_url=self._base_url,
            timeout=self._timeout,
            semaphore=self.semaphore(connection.account_id),
        )

    async def aclose(self) -> None:
        await self.client.aclose()
