"""PSA_SECRET_KEY rotation (a key list and `reencrypt-psa-secrets`), and private keys bound
to their account."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.engine import create_engine, create_sessionmaker
from persistence.operations import migrate
from persistence.psa_connections import ConnectionSettings, save_connection
from persistence.tenancy import account_transaction
from psa.credentials import encrypt_secret, new_secret_key, open_private_key
from psa.errors import PsaConfigurationError
from service.cli.main import main
from tests.factories import AccountBuilder
from tests.fakes.connectwise_server import FakeConnectWise
from tests.graphql_client import ApiClient
from tests.writes.conftest import LinkedAccount, connect_account
from tests.writes.test_psa_pushes import NOTE, codes, outbox_states

OLD, NEW = new_secret_key(), new_secret_key()


async def _tokens(url: str) -> dict[uuid.UUID, str]:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT account_id, private_key_encrypted FROM psa_connections")
            )
            return {row.account_id: row.private_key_encrypted for row in rows}
    finally:
        await engine.dispose()


@pytest.fixture
async def rotated_database(empty_database_url: str) -> AsyncIterator[tuple[str, list[uuid.UUID]]]:
    """Its own database: three connections under OLD (one from before binding)."""
    engine = create_engine(empty_database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            await migrate.upgrade(connection, "head")
        sessionmaker = create_sessionmaker(engine)
        accounts = [(await AccountBuilder.create(sessionmaker)).account_id for _ in range(3)]
        for index, account in enumerate(accounts):
            settings = ConnectionSettings(
                site="api-na.myconnectwise.net", codebase="v4_6_release/", company_id="c",
                public_key="p", client_id="g", private_key=f"private-{index}",
            )  # fmt: skip
            async with account_transaction(sessionmaker, account) as session:
                await save_connection(session, account, settings, OLD)
        async with account_transaction(sessionmaker, accounts[2]) as session:
            await session.execute(  # a token written before binding existed
                text("UPDATE psa_connections SET private_key_encrypted = :t WHERE account_id = :a"),
                {"t": encrypt_secret("private-2", OLD), "a": accounts[2]},
            )
    finally:
        await engine.dispose()
    yield empty_database_url, accounts


def test_reencrypt_command_moves_every_private_key_to_the_first_key(
    rotated_database: tuple[str, list[uuid.UUID]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, accounts = rotated_database
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("AUTH_JWT_SECRET", "cli-test-secret")
    monkeypatch.setenv("PSA_SECRET_KEY", f"{NEW},{OLD}")
    assert main(["reencrypt-psa-secrets"]) == 0
    assert "3 connections" in capsys.readouterr().err
    tokens = asyncio.run(_tokens(url))
    for index, account in enumerate(accounts):
        assert open_private_key(tokens[account], NEW, account) == f"private-{index}"
        with pytest.raises(PsaConfigurationError):
            open_private_key(tokens[account], OLD, account)
        with pytest.raises(PsaConfigurationError, match="another account"):
            open_private_key(tokens[account], NEW, uuid.uuid4())  # now bound, the legacy one too

    # Without the old key nothing decrypts any more: the command says which accounts.
    monkeypatch.setenv("PSA_SECRET_KEY", OLD)
    assert main(["reencrypt-psa-secrets"]) == 1
    err = capsys.readouterr().err
    assert "3 stored private keys could not be decrypted" in err
    assert all(str(account) in err for account in accounts)
    monkeypatch.setenv("PSA_SECRET_KEY", "not-a-key")
    assert main(["reencrypt-psa-secrets"]) == 1
    assert "not a valid Fernet key" in capsys.readouterr().err


async def test_a_private_key_copied_to_another_account_is_refused(
    writes_api: ApiClient,
    linked: LinkedAccount,
    cw: FakeConnectWise,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    other = await AccountBuilder.create(sessionmaker)
    await connect_account(sessionmaker, other, cw)
    async with account_transaction(sessionmaker, linked.builder.account_id) as session:
        foreign = (
            await session.execute(
                text("SELECT private_key_encrypted FROM psa_connections WHERE account_id = :a"),
                {"a": other.account_id},
            )
        ).scalar_one()
        await session.execute(
            text("UPDATE psa_connections SET private_key_encrypted = :t WHERE account_id = :a"),
            {"t": foreign, "a": linked.builder.account_id},
        )
    body = await writes_api.execute(
        NOTE,
        {"input": {"sessionId": str(linked.session_100), "text": "x"}},
        token=linked.engineer_token,
    )
    assert codes(body) == ["PSA_NOT_CONFIGURED"]
    assert cw.requests == []
    assert await outbox_states(sessionmaker, linked.builder.account_id) == [
        ("note_posted", "failed", "PSA_NOT_CONFIGURED")
    ]
