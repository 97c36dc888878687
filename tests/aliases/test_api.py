"""Domain aliases through the API: every tab before and after a mapping (hand-computed
from the fixture below), comparisons, evidence, removal, the audit, each refusal (coded,
nothing written), roles and another account.

Fixture (UTC, LAST_7_DAYS; "earlier" = the 7 days before):
  flows     License "microsoft 365 ", Reset MFA "Microsoft 365", Outlook sync "m365",
            VPN fix "VPN", Old "M365" (archived)
  now       M365: resolved+guided (matched to Reset MFA), escalated, active;
            Microsoft 365: resolved+guided, resolved; VPN: active; no domain: active
  earlier   M365: escalated; Microsoft 365: resolved
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence import domain_aliases
from persistence.tenancy import account_transaction
from tests.graphql_client import ApiClient, token_for
from tests.tabs.support import Tenant, new_tenant, safely_in_today, utc_now

TABS = """
query ($compare: ComparisonPeriod) {
  overview(period: LAST_7_DAYS, compareTo: $compare) {
    sessionCount domains { name sessionCount }
  }
  coverage(period: LAST_7_DAYS, compareTo: $compare) {
    totalDomains unmappedSessionCount
    domains {
      name sessionCount flowCount resolutionRate escalationRate guidedRate suggestCreateFlow
      flows(first: 2) { flow { name } }
      previous { name sessionCount }
      changes { sessionCount { current previous } }
    }
    knowledgeGaps { name }
  }
}
"""
FLOW = """
query ($id: ID!) { flow(id: $id, period: LAST_7_DAYS) { domain { name sessionCount flowCount } } }
"""
EVIDENCE = """
query ($filter: EvidenceFilter) {
  sessionEvidence(filter: $filter, period: LAST_7_DAYS, first: 50) {
    totalCount nodes { problemDomain domainKey }
  }
}
"""
ADD = """
mutation ($spelling: String!, $target: String!) {
  addDomainAlias(spelling: $spelling, target: $target) {
    changed alias { spelling key targetKey targetName createdBy } aliases { key }
  }
}
"""
REMOVE = """
mutation ($spelling: String!) {
  removeDomainAlias(spelling: $spelling) { changed alias { key } aliases { key targetKey } }
}
"""
DISMISS = """
mutation ($spelling: String!, $target: String!) {
  dismissDomainAliasSuggestion(spelling: $spelling, target: $target) { changed aliases { key } }
}
"""
LIST = "{ domainAliases { spelling key targetKey targetName createdBy } }"
USER = uuid.UUID("0000000d-0000-4000-8000-000000000001")


async def _fixture(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[Tenant, uuid.UUID]:
    tenant = await new_tenant(sessionmaker)
    builder = tenant.builder
    await builder.flow("License", "microsoft 365 ")
    reset = await builder.flow("Reset MFA", "Microsoft 365")
    outlook = await builder.flow("Outlook sync", "m365")
    await builder.flow("VPN fix", "VPN")
    await builder.flow("Old", "M365", status="archived")
    now = safely_in_today(utc_now(), "UTC")
    earlier = now - timedelta(days=9)
    done = now + timedelta(minutes=1)
    await builder.session(
        now, domain="M365", tier="guided", flow_id=reset, status="resolved", resolved_at=done
    )
    await builder.session(now, domain="M365", status="escalated")
    await builder.session(now, domain="M365")
    await builder.session(
        now, domain="Microsoft 365", tier="guided", status="resolved", resolved_at=done
    )
    await builder.session(now, domain="Microsoft 365", status="resolved", resolved_at=done)
    await builder.session(now, domain="VPN")
    await builder.session(now)
    await builder.session(earlier, domain="M365", status="escalated")
    await builder.session(earlier, domain="Microsoft 365", status="resolved", resolved_at=earlier)
    tenant.token = token_for(tenant.account_id, user_id=USER)
    return tenant, outlook


def _domain(
    name: str,
    sessions: int,
    flows: int,
    rates: tuple[float | None, ...],
    gap: bool,
    previews: list[str],
    previous: int,
) -> dict[str, Any]:
    resolution, escalation, guided = rates
    return {
        "name": name,
        "sessionCount": sessions,
        "flowCount": flows,
        "resolutionRate": resolution,
        "escalationRate": escalation,
        "guidedRate": guided,
        "suggestCreateFlow": gap,
        "flows": [{"flow": {"name": flow}} for flow in previews],
        "previous": {"name": name, "sessionCount": previous},
        "changes": {"sessionCount": {"current": sessions, "previous": previous}},
    }


BEFORE = {
    "overview": {
        "sessionCount": 7,
        "domains": [
            {"name": "m365", "sessionCount": 3},
            {"name": "Microsoft 365", "sessionCount": 2},
            {"name": "VPN", "sessionCount": 1},
        ],
    },
    "coverage": {
        "totalDomains": 3,
        "unmappedSessionCount": 1,
        "domains": [
            # Its flow's spelling names it; 1/3 resolved is CRITICAL.
            _domain("m365", 3, 1, (1 / 3, 1 / 3, 1 / 3), True, ["Outlook sync"], 1),
            _domain("Microsoft 365", 2, 2, (1.0, 0.0, 0.5), False, ["License", "Reset MFA"], 1),
            _domain("VPN", 1, 1, (0.0, 0.0, 0.0), True, ["VPN fix"], 0),
        ],
        "knowledgeGaps": [{"name": "m365"}, {"name": "VPN"}],
    },
}
# M365 read as Microsoft 365: 5 sessions, 3 resolved, 1 escalated, 2 guided (all WARNING),
# 3 flows (the alias's "Outlook sync" among them, by name); earlier 1 + 1.
AFTER = {
    "overview": {
        "sessionCount": 7,
        "domains": [
            {"name": "Microsoft 365", "sessionCount": 5},
            {"name": "VPN", "sessionCount": 1},
        ],
    },
    "coverage": {
        "totalDomains": 2,
        "unmappedSessionCount": 1,
        "domains": [
            _domain("Microsoft 365", 5, 3, (0.6, 0.2, 0.4), False, ["License", "Outlook sync"], 2),
            _domain("VPN", 1, 1, (0.0, 0.0, 0.0), True, ["VPN fix"], 0),
        ],
        "knowledgeGaps": [{"name": "VPN"}],
    },
}


async def _evidence_total(api: ApiClient, tenant: Tenant, **given: Any) -> tuple[int, set[Any]]:
    data = await tenant.query(api, EVIDENCE, filter=given)
    found = data["sessionEvidence"]
    return found["totalCount"], {node["domainKey"] for node in found["nodes"]}


async def _events(
    sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID
) -> list[tuple[Any, ...]]:
    async with account_transaction(sessionmaker, account_id) as session:
        rows = await session.execute(
            text(
                "SELECT alias_key, target_key, action, user_id FROM domain_alias_events "
                "WHERE account_id = :a ORDER BY at, action"
            ),
            {"a": account_id},
        )
        return [tuple(row) for row in rows]


async def test_every_tab_merges_at_once_and_removal_restores(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant, outlook = await _fixture(sessionmaker)
    assert await tenant.query(api, TABS, compare="PREVIOUS_PERIOD") == BEFORE
    flow = await tenant.query(api, FLOW, id=str(outlook))
    assert flow["flow"]["domain"] == {"name": "m365", "sessionCount": 3, "flowCount": 1}
    assert await _evidence_total(api, tenant, domain="Microsoft 365") == (2, {"microsoft 365"})
    assert await _evidence_total(api, tenant, domain="M365") == (3, {"m365"})

    added = await tenant.query(api, ADD, spelling=" M365 ", target="MICROSOFT  365")
    assert added["addDomainAlias"] == {
        "changed": True,
        "alias": {
            "spelling": "M365",
            "key": "m365",
            "targetKey": "microsoft 365",
            "targetName": "Microsoft 365",
            "createdBy": str(USER),
        },
        "aliases": [{"key": "m365"}],
    }
    assert await tenant.query(api, TABS, compare="PREVIOUS_PERIOD") == AFTER
    flow = await tenant.query(api, FLOW, id=str(outlook))
    assert flow["flow"]["domain"] == {"name": "Microsoft 365", "sessionCount": 5, "flowCount": 3}
    # Evidence: the merged domain's sessionCount, by its name or the alias's.
    assert await _evidence_total(api, tenant, domain="Microsoft 365") == (5, {"microsoft 365"})
    assert await _evidence_total(api, tenant, domain="m365") == (5, {"microsoft 365"})
    assert await _evidence_total(api, tenant, domain="Microsoft 365", tier="GUIDED") == (
        2,
        {"microsoft 365"},
    )
    assert await _evidence_total(api, tenant, domain="Microsoft 365", outcome="ESCALATED") == (
        1,
        {"microsoft 365"},
    )
    # A filter no rollup counts (read from the sessions) merges alike.
    assert await _evidence_total(
        api, tenant, domain="Microsoft 365", outcome="RESOLVED", tier="GUIDED"
    ) == (2, {"microsoft 365"})
    listed = await tenant.query(api, LIST)
    assert listed["domainAliases"] == [added["addDomainAlias"]["alias"]]

    again = await tenant.query(api, ADD, spelling="m365", target="Microsoft 365")
    assert again["addDomainAlias"]["changed"] is False

    removed = await tenant.query(api, REMOVE, spelling="M365")
    assert removed["removeDomainAlias"] == {"changed": True, "alias": None, "aliases": []}
    assert await tenant.query(api, TABS, compare="PREVIOUS_PERIOD") == BEFORE
    assert await _evidence_total(api, tenant, domain="M365") == (3, {"m365"})
    assert await _events(sessionmaker, tenant.account_id) == [
        ("m365", "microsoft 365", "added", USER),
        ("m365", "microsoft 365", "removed", USER),
    ]


async def _code(api: ApiClient, query: str, token: str, **variables: Any) -> tuple[str, Any]:
    body = await api.execute(query, variables, token=token)
    assert body["data"] is None or not any(body["data"].values()), body
    (error,) = body["errors"]
    extensions = error["extensions"]
    return extensions["code"], extensions.get("argument")


async def test_refusals_are_coded_and_write_nothing(
    api: ApiClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant, _outlook = await _fixture(sessionmaker)
    token = tenant.token
    await tenant.query(api, ADD, spelling="M365", target="Microsoft 365")
    events = await _events(sessionmaker, tenant.account_id)
    refusals = [
        (ADD, {"spelling": "Microsoft 365", "target": " microsoft 365"}, "ALIAS_OF_ITSELF"),
        (ADD, {"spelling": "Nope", "target": "VPN"}, "UNKNOWN_DOMAIN"),
        (ADD, {"spelling": "VPN", "target": "Nope"}, "UNKNOWN_DOMAIN"),
        # Only an archived flow has the category "Old": no domain.
        (ADD, {"spelling": "Old", "target": "VPN"}, "UNKNOWN_DOMAIN"),
        (ADD, {"spelling": "VPN", "target": "m365"}, "ALIAS_CHAIN"),  # target is an alias
        (ADD, {"spelling": "Microsoft 365", "target": "VPN"}, "ALIAS_CHAIN"),  # has aliases
        (ADD, {"spelling": "M365", "target": "VPN"}, "CONFLICT"),
        (ADD, {"spelling": "  ", "target": "VPN"}, "BAD_USER_INPUT"),
        (ADD, {"spelling": "VPN\x00", "target": "M365"}, "BAD_USER_INPUT"),
        (REMOVE, {"spelling": "VPN"}, "NOT_FOUND"),
        (DISMISS, {"spelling": "VPN", "target": "vpn"}, "ALIAS_OF_ITSELF"),
        (DISMISS, {"spelling": "VPN", "target": "Nope"}, "UNKNOWN_DOMAIN"),
    ]
    for query, variables, code in refusals:
        assert (await _code(api, query, token, **variables))[0] == code, variables
    assert await _code(api, ADD, token, spelling="Nope", target="VPN") == (
        "UNKNOWN_DOMAIN",
        "spelling",
    )
    assert await _code(api, ADD, token, spelling="VPN", target="Nope") == (
        "UNKNOWN_DOMAIN",
        "target",
    )
    monkeypatch.setattr(domain_aliases, "MAX_ALIASES", 1)
    assert (await _code(api, ADD, token, spelling="VPN", target="Microsoft 365"))[0] == (
        "ALIAS_LIMIT"
    )
    # Nothing of any refusal was written.
    assert await _events(sessionmaker, tenant.account_id) == events
    listed = await tenant.query(api, LIST)
    assert [alias["key"] for alias in listed["domainAliases"]] == ["m365"]

    for role in ("engineer", "service"):
        other = token_for(tenant.account_id, role)
        for query, variables in ((ADD, {"spelling": "VPN", "target": "m365"}), (LIST, {})):
            assert (await _code(api, query, other, **variables))[0] == "FORBIDDEN"


async def test_another_account_neither_sees_nor_touches_the_aliases(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant, _outlook = await _fixture(sessionmaker)
    await tenant.query(api, ADD, spelling="M365", target="Microsoft 365")
    other = await new_tenant(sessionmaker)
    await other.builder.flow("Printer jam", "Printers")
    await other.builder.session(safely_in_today(utc_now(), "UTC"), domain="Printers")
    assert await other.query(api, LIST) == {"domainAliases": []}
    # The first account's spellings are unknown here, exactly like spellings nobody has.
    assert await _code(api, ADD, other.token, spelling="M365", target="Printers") == (
        "UNKNOWN_DOMAIN",
        "spelling",
    )
    assert await _code(api, ADD, other.token, spelling="Printers", target="Microsoft 365") == (
        "UNKNOWN_DOMAIN",
        "target",
    )
    assert (await _code(api, REMOVE, other.token, spelling="M365"))[0] == "NOT_FOUND"
    listed = await tenant.query(api, LIST)
    assert [alias["key"] for alias in listed["domainAliases"]] == ["m365"]
    coverage = await other.query(api, "{ coverage { domains { name sessionCount } } }")
    assert coverage["coverage"]["domains"] == [{"name": "Printers", "sessionCount": 1}]


async def test_row_level_security_binds_the_alias_tables(
    api: ApiClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    role_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tenant, _outlook = await _fixture(sessionmaker)
    await tenant.query(api, ADD, spelling="M365", target="Microsoft 365")
    other = await new_tenant(sessionmaker)
    async with account_transaction(role_sessionmaker, other.account_id) as session:
        for table in ("domain_aliases", "domain_alias_events"):
            count = await session.execute(text(f"SELECT count(*) FROM {table}"))
            assert count.scalar_one() == 0
        # Rows of another account cannot be written either.
        with pytest.raises(Exception, match="row-level security"):
            await session.execute(
                text(
                    "INSERT INTO domain_aliases (account_id, alias_key, spelling, target_key) "
                    "VALUES (:a, 'x', 'x', 'y')"
                ),
                {"a": tenant.account_id},
            )
    async with account_transaction(role_sessionmaker, tenant.account_id) as session:
        count = await session.execute(text("SELECT count(*) FROM domain_aliases"))
        assert count.scalar_one() == 1
