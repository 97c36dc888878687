"""RS256 and ES256 tokens verified with the keys of a JWKS the test serves itself: a good
token, a key the JWKS does not list, a rotated key, a JWKS that cannot be reached or never
answers (UNAUTHENTICATED in bounded time, other requests unaffected), and a wrong
issuer or audience. HS256 tokens keep working beside them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import jwks as jwks_module
from core.auth import issue_token
from core.settings import Settings
from queries import tab_query
from tests.factories import AccountBuilder
from tests.graphql_client import ApiClient, running_app, settings_for_tests
from tests.operator.jwks_server import Jwks, SigningKey, closed_port_url, serving, silent_jwks

OVERVIEW = tab_query("overview")
ISSUER = "https://idp.example.test/"
AUDIENCE = "flowpilot-analytics"
WEEK = {"period": "LAST_7_DAYS"}


def _settings(database_url: str, jwks_url: str) -> Settings:
    return settings_for_tests(
        database_url, jwks_url=jwks_url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE,
        jwks_timeout_s=0.5,
    )  # fmt: skip


@asynccontextmanager
async def _app(database_url: str, jwks_url: str) -> AsyncIterator[tuple[ApiClient, Settings]]:
    settings = _settings(database_url, jwks_url)
    async with running_app(settings) as client:
        yield client, settings


def _claims(account_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "account_id": str(account_id), "role": "team_admin", "iat": now, "exp": now + 600,
        "iss": ISSUER, "aud": AUDIENCE,
    }  # fmt: skip
    return {**claims, **overrides}


async def _sessions(body: dict[str, Any]) -> int:
    return int(body["data"]["overview"]["sessionCount"])


def _refusal(body: dict[str, Any]) -> tuple[str, str]:
    error = body["errors"][0]
    return error["extensions"]["code"], error["message"]


@pytest.fixture
async def account(sessionmaker: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    builder = await AccountBuilder.create(sessionmaker)
    for hours in (2, 5):
        await builder.session(datetime.now(UTC) - timedelta(hours=hours), domain="Email")
    return builder.account_id


async def test_provider_tokens_are_verified_with_the_jwks_keys(
    database_url: str, account: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jwks_module, "REFRESH_COOLDOWN_S", 0.2)
    rsa_key, ec_key = SigningKey.rsa("rsa-1"), SigningKey.ec("ec-1")
    with serving(Jwks([rsa_key, ec_key])) as jwks:
        async with _app(database_url, jwks.url) as (api, settings):
            for key in (rsa_key, ec_key):
                body = await api.execute(OVERVIEW, WEEK, token=key.sign(_claims(account)))
                assert await _sessions(body) == 2
            assert jwks.fetches == 1  # one fetch served both keys
            # The CSV export authenticates the same way.
            csv = await api.http.get(
                "/export/overview.csv?period=LAST_7_DAYS",
                headers={"Authorization": f"Bearer {ec_key.sign(_claims(account, jti='csv'))}"},
            )
            assert csv.status_code == 200, csv.text
            refused = await api.http.get(
                "/export/overview.csv?period=LAST_7_DAYS",
                headers={"Authorization": f"Bearer {SigningKey.ec('ec-1').sign(_claims(account))}"},
            )
            assert refused.status_code == 401

            # HS256 with the secret stays, with the same issuer and audience.
            hs256 = issue_token(settings, account_id=account, role="team_admin")
            assert await _sessions(await api.execute(OVERVIEW, WEEK, token=hs256)) == 2

            # A key the JWKS does not list: refused, after one fetch to look for it.
            await asyncio.sleep(0.3)  # past the cool-down of the last fetch
            stranger = SigningKey.rsa("stranger").sign(_claims(account))
            body = await api.execute(OVERVIEW, WEEK, token=stranger)
            assert _refusal(body) == (
                "UNAUTHENTICATED", "token is signed with a key the JWKS does not list"
            )  # fmt: skip
            assert jwks.fetches == 2

            # A key signed by a listed kid but another private key: the signature fails.
            forged = SigningKey("rsa-1", "RS256", SigningKey.rsa("x").private).sign(
                _claims(account)
            )
            assert _refusal(await api.execute(OVERVIEW, WEEK, token=forged)) == (
                "UNAUTHENTICATED", "invalid token"
            )  # fmt: skip

            # The provider rotates: rsa-2 replaces rsa-1; its tokens are accepted at once.
            rotated = SigningKey.rsa("rsa-2")
            jwks.keys = [rotated, ec_key]
            await asyncio.sleep(0.3)  # past the cool-down of the last fetch
            body = await api.execute(OVERVIEW, WEEK, token=rotated.sign(_claims(account)))
            assert await _sessions(body) == 2
            assert jwks.fetches == 3


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"iss": "https://other-idp.example.test/"}, "invalid token"),
        ({"aud": "another-application"}, "invalid token"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000}, "token has expired"),
    ],
)
async def test_a_wrong_issuer_or_audience_is_refused(
    database_url: str, claims: dict[str, Any], message: str
) -> None:
    key = SigningKey.ec("ec-1")
    with serving(Jwks([key])) as jwks:
        async with _app(database_url, jwks.url) as (api, _):
            token = key.sign(_claims(uuid.uuid4(), **claims))
            assert _refusal(await api.execute(OVERVIEW, WEEK, token=token)) == (
                "UNAUTHENTICATED", message
            )  # fmt: skip


UNAVAILABLE = "the identity provider's keys (JWKS) cannot be fetched now; retry shortly"


async def test_an_unreachable_jwks_is_a_quick_unauthenticated(
    database_url: str, account: uuid.UUID
) -> None:
    key = SigningKey.rsa("rsa-1")
    async with _app(database_url, closed_port_url()) as (api, _):
        started = time.monotonic()
        body = await api.execute(OVERVIEW, WEEK, token=key.sign(_claims(account)))
        assert _refusal(body) == ("UNAUTHENTICATED", UNAVAILABLE)
        assert time.monotonic() - started < 1.5


async def test_a_silent_jwks_stalls_neither_its_requests_nor_the_others(
    database_url: str, account: uuid.UUID
) -> None:
    keys = [SigningKey.rsa(f"rsa-{n}") for n in range(5)]
    with silent_jwks() as silent:
        async with _app(database_url, silent.url) as (api, settings):
            started = time.monotonic()
            waiting = [
                asyncio.create_task(api.execute(OVERVIEW, WEEK, token=key.sign(_claims(account))))
                for key in keys
            ]
            await asyncio.sleep(0.1)  # the JWKS request is out, waiting for an answer
            hs256 = issue_token(settings, account_id=account, role="team_admin")
            other_started = time.monotonic()
            assert await _sessions(await api.execute(OVERVIEW, WEEK, token=hs256)) == 2
            other_took = time.monotonic() - other_started
            bodies = await asyncio.gather(*waiting)
            took = time.monotonic() - started
            assert [_refusal(body) for body in bodies] == [("UNAUTHENTICATED", UNAVAILABLE)] * 5
            # Bounded: two timeouts of 0.5 s and a margin, not the socket's default.
            assert 0.5 <= took < 2.5
            assert other_took < 0.5  # served while the JWKS fetch waited
            # Five requests for five unknown keys: one fetch, the others waited for it.
            assert silent.connections == 1
            # Within the retry pause, unknown keys are refused at once, with no fetch.
            again = time.monotonic()
            body = await api.execute(OVERVIEW, WEEK, token=keys[0].sign(_claims(account)))
            assert _refusal(body) == ("UNAUTHENTICATED", UNAVAILABLE)
            assert time.monotonic() - again < 0.3
            assert silent.connections == 1
