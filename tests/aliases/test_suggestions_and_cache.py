"""Alias suggestions (acronym, similar spelling, sessions matched to another domain's flows),
dismissal and acceptance; and no cached answer outlives an alias change.

Fixture (UTC, LAST_30_DAYS): flows Reset MFA "Microsoft 365", VPN fix "VPN";
sessions M365 x3, Microsoft 365 x1, VPNs x2, Printers x3 (all three matched to VPN fix),
Phone x4 (1 matched to VPN fix: below the shared-flows bound).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.cache.support import Outcomes
from tests.cache.test_response_cache import cached_api  # noqa: F401  (fixture by name)
from tests.graphql_client import ApiClient, token_for
from tests.tabs.support import Tenant, new_tenant, safely_in_today, utc_now

SUGGESTIONS = """
{ domainAliasSuggestions(period: LAST_30_DAYS) {
    spelling key targetName targetKey reasons sessionCount flowCount matchedSessionCount
} }
"""
ADD = """
mutation ($spelling: String!, $target: String!) {
  addDomainAlias(spelling: $spelling, target: $target) { changed }
}
"""
DISMISS = """
mutation ($spelling: String!, $target: String!) {
  dismissDomainAliasSuggestion(spelling: $spelling, target: $target) { changed }
}
"""
COVERAGE = "{ coverage { domains { name sessionCount } knowledgeGaps { name } } }"


async def _fixture(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    tenant = await new_tenant(sessionmaker)
    builder = tenant.builder
    await builder.flow("Reset MFA", "Microsoft 365")
    vpn = await builder.flow("VPN fix", "VPN")
    now = safely_in_today(utc_now(), "UTC")
    for _ in range(3):
        await builder.session(now, domain="M365")
        await builder.session(now, domain="Printers", flow_id=vpn)
    await builder.session(now, domain="Microsoft 365")
    await builder.session(now, domain="VPNs")
    await builder.session(now - timedelta(days=3), domain="vpns ")
    await builder.session(now, domain="Phone", flow_id=vpn)
    for _ in range(3):
        await builder.session(now, domain="Phone")
    return tenant


def _suggestion(
    spelling: str, key: str, target: tuple[str, str], reasons: list[str], counts: tuple[int, ...]
) -> dict[str, Any]:
    sessions, flows, matched = counts
    return {
        "spelling": spelling,
        "key": key,
        "targetName": target[0],
        "targetKey": target[1],
        "reasons": reasons,
        "sessionCount": sessions,
        "flowCount": flows,
        "matchedSessionCount": matched,
    }


M365 = _suggestion("M365", "m365", ("Microsoft 365", "microsoft 365"), ["ACRONYM"], (3, 0, 0))
PRINTERS = _suggestion("Printers", "printers", ("VPN", "vpn"), ["SHARED_FLOWS"], (3, 0, 3))
VPNS = _suggestion("VPNs", "vpns", ("VPN", "vpn"), ["SIMILAR_SPELLING"], (2, 0, 0))


async def test_suggestions_dismissal_and_acceptance(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await _fixture(sessionmaker)
    found = await tenant.query(api, SUGGESTIONS)
    # Sessions desc, then key: m365 and printers tie at 3.
    assert found["domainAliasSuggestions"] == [M365, PRINTERS, VPNS]

    dismissed = await tenant.query(api, DISMISS, spelling="VPNS", target="vpn")
    assert dismissed["dismissDomainAliasSuggestion"] == {"changed": True}
    again = await tenant.query(api, DISMISS, spelling="vpns", target="VPN")
    assert again["dismissDomainAliasSuggestion"] == {"changed": False}
    found = await tenant.query(api, SUGGESTIONS)
    assert found["domainAliasSuggestions"] == [M365, PRINTERS]

    # Accepting is adding the alias: the pair is no longer suggested, nor applied alone.
    await tenant.query(api, ADD, spelling=M365["spelling"], target=M365["targetName"])
    found = await tenant.query(api, SUGGESTIONS)
    assert found["domainAliasSuggestions"] == [PRINTERS]
    coverage = await tenant.query(api, COVERAGE)
    names = [domain["name"] for domain in coverage["coverage"]["domains"]]
    assert names == ["Microsoft 365", "Phone", "Printers", "VPNs", "VPN"]
    # Another account sees none of them.
    other = await new_tenant(sessionmaker)
    assert await other.query(api, SUGGESTIONS) == {"domainAliasSuggestions": []}


async def test_no_cached_answer_survives_an_alias_change(
    cached_api: ApiClient,  # noqa: F811
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await _fixture(sessionmaker)
    token = token_for(tenant.account_id)
    counts = Outcomes()
    first = await cached_api.post(COVERAGE, token=token)
    second = await cached_api.post(COVERAGE, token=token)
    assert second.content == first.content
    assert counts.since("hit") == 1
    gaps = first.json()["data"]["coverage"]["knowledgeGaps"]
    assert {"name": "M365"} in gaps
    suggestions = await cached_api.post(SUGGESTIONS, token=token)
    assert len(suggestions.json()["data"]["domainAliasSuggestions"]) == 3

    changed = await cached_api.post(
        ADD, {"spelling": "M365", "target": "Microsoft 365"}, token=token
    )
    assert changed.json()["data"]["addDomainAlias"] == {"changed": True}
    after = await cached_api.post(COVERAGE, token=token)
    domains = after.json()["data"]["coverage"]["domains"]
    assert domains[0] == {"name": "Microsoft 365", "sessionCount": 4}
    assert {"name": "M365"} not in after.json()["data"]["coverage"]["knowledgeGaps"]

    # A dismissal changes the suggestions: not served from the cache either.
    await cached_api.post(DISMISS, {"spelling": "VPNs", "target": "VPN"}, token=token)
    suggestions = await cached_api.post(SUGGESTIONS, token=token)
    assert suggestions.json()["data"]["domainAliasSuggestions"] == [PRINTERS]

    await cached_api.post(
        'mutation { removeDomainAlias(spelling: "m365") { changed } }', token=token
    )
    hits = counts.since("hit")
    assert (await cached_api.post(COVERAGE, token=token)).content == first.content
    assert counts.since("hit") == hits  # answered afresh, equal to the first answer
