"""Fixtures of the hardening suite: the API connected as the unprivileged app role."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.roles import drop_app_role, ensure_app_role
from tests.graphql_client import ApiClient, running_app, settings_for_tests

APP_ROLE_PASSWORD = "app-role-test-password"


@pytest.fixture(scope="session")
async def app_role_database_url(database_url: str, engine: AsyncEngine) -> AsyncIterator[str]:
    """The test database's URL as a fresh login role that is neither superuser nor owner."""
    name = f"fp_app_{uuid.uuid4().hex[:10]}"
    async with engine.begin() as connection:
        await ensure_app_role(connection, name, APP_ROLE_PASSWORD)
    yield (
        make_url(database_url)
        .set(username=name, password=APP_ROLE_PASSWORD)
        .render_as_string(hide_password=False)
    )
    async with engine.begin() as connection:
        await drop_app_role(connection, name)


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
