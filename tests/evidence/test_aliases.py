"""With aliases, every count of every tab still opens exactly its rows: the evidence of a
merged domain lists the sessions of each of its spellings, and totalCount is the count."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.metrics.keys import domain_key
from core.metrics.window import Window
from persistence.domain_aliases import add_alias
from persistence.reader import Reader
from persistence.tenancy import account_transaction
from tests import reference_scan as reference
from tests.evidence.support import SESSION_PAGE, ZONE, all_pages, random_account
from tests.evidence.test_exactness import TABS, _matches, _windows, session_counts
from tests.graphql_client import ApiClient
from tests.tabs.support import utc_now

# Spellings of tests/evidence/support.py: "E-MAIL" and "VPN" read as "Network", whose
# name stays its own spelling.
ALIASES = {"e-mail": "network", "vpn": "network"}


async def test_every_count_opens_exactly_its_rows_with_aliases(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = utc_now()
    account = await random_account(sessionmaker, seed=31, now=now)
    tenant = account.tenant
    async with account_transaction(sessionmaker, tenant.account_id) as session:
        reader = await Reader.in_session(session)
        for spelling, target in (("E-MAIL", "network"), ("vpn", "Network")):
            assert await add_alias(reader, tenant.account_id, None, spelling, target)
    checked = 0
    for variables in _windows(now):
        tabs = await tenant.query(api, TABS, **variables)
        # A merged domain without its own spellings in the window takes an alias's name.
        names = [domain["name"] for domain in tabs["coverage"]["domains"]]
        keys = [domain_key(name) or "" for name in names]
        assert len(names) == len({ALIASES.get(key, key) for key in keys})
        window = Window(
            date.fromisoformat(tabs["overview"]["from"]),
            date.fromisoformat(tabs["overview"]["to"]),
            ZONE,
            utc_now(),
        )
        async with account_transaction(sessionmaker, tenant.account_id) as session:
            facts = await reference.session_facts(session, tenant.account_id, window)
        merged = [{**fact, "key": ALIASES.get(fact["key"], fact["key"])} for fact in facts]
        for given, count in session_counts(tabs):
            matching = dict(given)
            if "domain" in given:  # the merged domain of the name's key
                key = domain_key(given["domain"]) or ""
                matching["domain"] = ALIASES.get(key, key)
            expected = sorted(str(fact["id"]) for fact in merged if _matches(fact, matching))
            total, rows = await all_pages(
                api, tenant.token, SESSION_PAGE, "sessionEvidence", 40, filter=given, **variables
            )
            assert total == count == len(expected), (variables, given)
            assert sorted(row["id"] for row in rows) == expected, (variables, given)
            if "domain" in given:
                assert {row["domainKey"] for row in rows} <= {matching["domain"]}
            checked += 1
        # An alias's own spelling opens its domain's rows too.
        by_alias: dict[str, Any] = {"domain": "vpn"}
        expected = sorted(str(fact["id"]) for fact in merged if fact["key"] == "network")
        total, rows = await all_pages(
            api, tenant.token, SESSION_PAGE, "sessionEvidence", 40, filter=by_alias, **variables
        )
        assert total == len(expected) and sorted(row["id"] for row in rows) == expected
    assert checked > 200
