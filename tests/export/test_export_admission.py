"""The CSV export is admitted as `/graphql` is: it waits for one of its account's slots
and is refused RATE_LIMITED when none comes free, and an account whose budget is spent is
refused before anything is parsed or executed."""

from __future__ import annotations

from typing import Any

import pytest
from graphql.language.parser import Parser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from queries import tab_query
from service.pipeline.pipeline import Pipeline
from tests.call_counter import counted
from tests.export.test_csv_export import export, seeded_account
from tests.graphql_client import ApiClient, running_app, settings_for_tests


def _endpoint(api: ApiClient) -> Any:
    routes: list[Any] = list(api.app.routes)
    return next(route.app for route in routes if getattr(route, "path", "") == "/graphql")


async def test_the_export_waits_for_one_of_its_accounts_slots(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    account, token = await seeded_account(sessionmaker)
    # One slot per account; a request waits half the 0.4 s timeout for it at most.
    settings = settings_for_tests(
        database_url, account_max_concurrent_requests=1, request_timeout_s=0.4
    )
    async with running_app(settings) as api:
        slots = _endpoint(api).account_slots
        async with slots.hold(str(account.account_id), None):
            busy = await export(api, "/export/overview.csv?period=LAST_7_DAYS", token)
        free = await export(api, "/export/overview.csv?period=LAST_7_DAYS", token)
    assert busy.status_code == 429
    error = busy.json()["error"]
    assert error["code"] == "RATE_LIMITED" and error["retryAfter"] == 1.0
    assert error["message"] == "too many requests of this account at once; retry in 1 s"
    assert free.status_code == 200 and free.text.startswith("section,position,")


async def test_a_spent_budget_refuses_the_export_before_it_is_parsed(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _account, token = await seeded_account(sessionmaker)
    # Coverage costs 909 (tests/hardening/test_limits.py), over the limit of 100: each is
    # refused and still spends 100; two fill the bucket to twice its 100, which drains at
    # 0.5 a second: spent for (200 - 100 + 1) / 0.5 = 202 s.
    settings = settings_for_tests(
        database_url,
        max_query_cost=100,
        rate_limit_burst_cost=100,
        rate_limit_cost_per_s=0.5,
        rate_limited_pause_s=0,
    )
    async with running_app(settings) as api:
        for _ in range(2):
            too_complex = await api.execute(tab_query("coverage"), token=token)
            assert too_complex["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        parses = counted(monkeypatch, Parser, "parse_document")
        executions = counted(monkeypatch, Pipeline, "execute")
        refused = await export(api, "/export/psa.csv?period=LAST_7_DAYS", token)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "RATE_LIMITED"
    assert 190 <= error["retryAfter"] <= 202  # less what drained since
    assert (parses, executions) == ([], [])
