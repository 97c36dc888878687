"""Fixtures of the hardening suite: the API connected as the unprivileged app role."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from cryptography.fernet import Fernet

from tests.graphql_client import ApiClient, running_app, settings_for_tests


@pytest.fixture(scope="session")
async def role_api(app_role_database_url: str) -> AsyncIterator[ApiClient]:
    """The real app, as the app role, with introspection off (as in production)."""
    settings = settings_for_tests(
        app_role_database_url,
        introspection=False,
        graphiql=False,
        psa_secret_key=Fernet.generate_key().decode(),
    )
    async with running_app(settings) as client:
        yield client
