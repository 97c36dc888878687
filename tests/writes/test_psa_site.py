"""The ConnectWise site cannot send the stored private key, or the caller, elsewhere."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.tenancy import account_transaction
from tests.factories import AccountBuilder
from tests.fakes.connectwise_server import FakeConnectWise, cw_error
from tests.graphql_client import ApiClient, token_for
from tests.psa.test_sites import BAD_SITES
from tests.writes.conftest import SECRET_KEY, LinkedAccount
from tests.writes.test_psa_pushes import NOTE, SAVE, codes, outbox_states
from writes.psa_pushes import PsaPushService

VALUES = {
    "site": "api-na.myconnectwise.net",
    "codebase": "v4_6_release/",
    "companyId": "acme",
    "publicKey": "pub",
    "clientId": "cid",
    "privateKey": "very-secret-private",
}


async def stored_site(
    sessionmaker: async_sessionmaker[AsyncSession], account: uuid.UUID
) -> str | None:
    async with account_transaction(sessionmaker, account) as session:
        site: str | None = (
            await session.execute(
                text("SELECT site FROM psa_connections WHERE account_id = :a"), {"a": account}
            )
        ).scalar_one_or_none()
    return site


@pytest.mark.parametrize("site", [s for s in BAD_SITES if s.strip()])
async def test_save_refuses_a_site_that_is_not_a_connectwise_host(
    writes_api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession], site: str
) -> None:
    account = (await AccountBuilder.create(sessionmaker)).account_id
    body = await writes_api.execute(
        SAVE, {"input": VALUES | {"site": site}}, token=token_for(account, "admin")
    )
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["fields"] == ["site"]
    assert await stored_site(sessionmaker, account) is None


async def test_site_is_stored_as_a_bare_lower_case_host(
    writes_api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    account = (await AccountBuilder.create(sessionmaker)).account_id
    data = await writes_api.data(
        SAVE,
        {"input": VALUES | {"site": " API-EU.MyConnectWise.net "}},
        token=token_for(account, "admin"),
    )
    assert data["savePsaConnection"]["site"] == "api-eu.myconnectwise.net"
    bad_codebase = VALUES | {"codebase": "../../internal?x="}
    body = await writes_api.execute(
        SAVE, {"input": bad_codebase}, token=token_for(account, "admin")
    )
    assert body["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "fields": ["codebase"],
        "requestId": body["errors"][0]["extensions"]["requestId"],
    }


@pytest.mark.parametrize(
    "change",
    [{"site": "api-eu.myconnectwise.net"}, {"companyId": "other"}, {"publicKey": "pub2"}],
    ids=["site", "companyId", "publicKey"],
)
async def test_moving_the_connection_needs_the_private_key_again(
    writes_api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession], change: dict[str, Any]
) -> None:
    account = (await AccountBuilder.create(sessionmaker)).account_id
    admin = token_for(account, "admin")
    assert "errors" not in await writes_api.execute(SAVE, {"input": VALUES}, token=admin)
    without_key = {k: v for k, v in VALUES.items() if k != "privateKey"}
    body = await writes_api.execute(SAVE, {"input": without_key | change}, token=admin)
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["fields"] == ["privateKey"]
    assert await stored_site(sessionmaker, account) == "api-na.myconnectwise.net"
    # With the key again the change is saved.
    assert "errors" not in await writes_api.execute(SAVE, {"input": VALUES | change}, token=admin)


async def test_a_stored_site_outside_the_allow_list_is_never_called(
    linked: LinkedAccount, cw: FakeConnectWise, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A row saved before the check (or written around the API) points at loopback."""
    account = linked.builder.account_id
    port = cw.base_url.rsplit(":", 1)[1]
    async with account_transaction(sessionmaker, account) as session:
        await session.execute(
            text("UPDATE psa_connections SET site = :site WHERE account_id = :a"),
            {"site": f"api-na.myconnectwise.net@127.0.0.1:{port}", "a": account},
        )
    production = PsaPushService(sessionmaker, SECRET_KEY)  # the real ConnectWise factory
    try:
        with pytest.raises(Exception) as caught:
            await production.push_ticket_note(account, linked.session_100, text="x")
    finally:
        await production.aclose()
    assert getattr(caught.value, "code", None) == "PSA_NOT_CONFIGURED"
    assert cw.requests == []
    assert await outbox_states(sessionmaker, account) == [
        ("note_posted", "failed", "PSA_NOT_CONFIGURED")
    ]


async def test_errors_carry_a_fixed_message_never_the_remote_body(
    writes_api: ApiClient, linked: LinkedAccount, cw: FakeConnectWise
) -> None:
    leak = "<html>internal admin page: db password=hunter2</html>"
    cw.script(cw_error(400, "InvalidObject", leak, [{"code": "X", "message": leak, "field": leak}]))
    response = await writes_api.post(
        NOTE,
        {"input": {"sessionId": str(linked.session_100), "text": "x"}},
        token=linked.engineer_token,
    )
    assert "hunter2" not in response.text
    error = response.json()["errors"][0]
    assert error["message"] == "ConnectWise refused the request (400)"
    assert error["extensions"]["code"] == "PSA_INVALID_REQUEST"
    assert error["extensions"]["fields"] == [
        {"field": None, "code": "X", "message": "refused by ConnectWise"}
    ]
