"""A request passes each step of the pipeline once: a miss verifies its token once and
parses its text once (the cache's parse is the one executed), a hit parses nothing."""

from __future__ import annotations

import uuid

import pytest
from graphql.language.parser import Parser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.pipeline import authentication
from tests.cache.support import Outcomes
from tests.call_counter import counted
from tests.factories import AccountBuilder
from tests.graphql_client import running_app, settings_for_tests, token_for


async def test_a_miss_authenticates_and_parses_once_and_a_hit_parses_nothing(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = await AccountBuilder.create(sessionmaker)
    token = token_for(account.account_id)
    # A text no request sent before: nothing of it is cached yet.
    query = (
        f"query Fresh {{ overview(period: LAST_7_DAYS) {{ n{uuid.uuid4().hex}: sessionCount }} }}"
    )
    counts = Outcomes()
    async with running_app(settings_for_tests(database_url, response_cache=True)) as api:
        verifications = counted(monkeypatch, authentication, "verify_token")
        parses = counted(monkeypatch, Parser, "parse_document")
        miss = await api.post(query, token=token)
        miss_parses, miss_verifications = len(parses), len(verifications)
        hit = await api.post(query, token=token)
    assert miss.status_code == 200 and "errors" not in miss.json()
    assert (counts.since("miss", "first_sight"), counts.since("hit")) == (1, 1)
    assert (miss_parses, miss_verifications) == (1, 1)
    assert hit.content == miss.content
    assert (len(parses), len(verifications)) == (1, 1)  # the hit: none of either
