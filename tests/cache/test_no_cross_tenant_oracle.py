"""No cache outcome tells one account what another sent: "answered before" is kept per
account, and /metrics (every tenant's counters together) can be kept behind a token."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.cache.support import Outcomes
from tests.factories import AccountBuilder
from tests.graphql_client import running_app, settings_for_tests, token_for

# Not a first-party document: only requests teach the cache that it is answered whole.
PRIVATE_DOCUMENT = "query SecretProbe { overview(period: LAST_7_DAYS) { sessionCount } }"


async def test_another_accounts_document_is_still_a_first_sight_for_this_account(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    victim = await AccountBuilder.create(sessionmaker)
    await victim.session(datetime.now(UTC) - timedelta(hours=2))
    prober = await AccountBuilder.create(sessionmaker)
    counts = Outcomes()
    async with running_app(settings_for_tests(database_url, response_cache=True)) as api:
        victim_token, prober_token = token_for(victim.account_id), token_for(prober.account_id)
        assert (await api.data(PRIVATE_DOCUMENT, token=victim_token))["overview"] == {
            "sessionCount": 1
        }
        assert counts.since("miss", "first_sight") == 1
        # The prober's first request of the same text: a first sight as for a text nobody
        # sent (a plain miss here would tell it the victim sent this exact document).
        assert (await api.data(PRIVATE_DOCUMENT, token=prober_token))["overview"] == {
            "sessionCount": 0
        }
        assert counts.since("miss", "first_sight") == 2
        assert counts.since("miss") == 0
        # Each account's own second request is looked up and hits.
        await api.data(PRIVATE_DOCUMENT, token=victim_token)
        await api.data(PRIVATE_DOCUMENT, token=prober_token)
        assert counts.since("hit") == 2


async def test_metrics_need_the_metrics_token_when_one_is_set(database_url: str) -> None:
    token = f"metrics-{uuid.uuid4()}"
    settings = settings_for_tests(database_url, metrics_token=token)
    async with running_app(settings) as api:
        assert (await api.http.get("/metrics")).status_code == 401
        wrong = await api.http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        tenant = await api.http.get(
            "/metrics", headers={"Authorization": f"Bearer {token_for(uuid.uuid4())}"}
        )
        assert tenant.status_code == 401  # an API token is no metrics token
        scraped = await api.http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert scraped.status_code == 200
        assert "flowpilot_requests_total" in scraped.text
    async with running_app(settings_for_tests(database_url)) as api:
        assert (await api.http.get("/metrics")).status_code == 200  # no token set: open
