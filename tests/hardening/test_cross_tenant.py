"""Account A's token with account B's ids: NOT_FOUND or null, and nothing of B, for every
root field and mutation, through the API connected as the RLS-bound app role."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from queries import EVIDENCE_DOCUMENTS, TAB_DOCUMENTS, tab_query
from schema.build import schema
from tests.graphql_client import ApiClient, token_for
from tests.hardening.support import Tenant, codes, tenant_with_data

MUTATIONS: dict[str, tuple[str, Any]] = {
    "recordFlowMatch": (
        "mutation($s: ID!, $f: ID!) { recordFlowMatch(input: {sessionId: $s, flowId: $f})"
        " { totalUsageCount flow { id name } } }",
        lambda a, b: [
            {"s": str(b.session_id), "f": str(b.flow_id)},
            {"s": str(a.session_id), "f": str(b.flow_id)},
            {"s": str(b.session_id), "f": str(a.flow_id)},
        ],
    ),
    "pushTimeEntry": (
        "mutation($s: ID!) { pushTimeEntry(input: {sessionId: $s, hours: 1}) { externalId } }",
        lambda a, b: [{"s": str(b.session_id)}],
    ),
    "pushTicketNote": (
        'mutation($s: ID!) { pushTicketNote(input: {sessionId: $s, text: "x"}) { externalId } }',
        lambda a, b: [{"s": str(b.session_id)}],
    ),
    "updateTicketStatus": (
        "mutation($s: ID!) { updateTicketStatus(input: {sessionId: $s, statusId: 5})"
        " { externalId } }",
        lambda a, b: [{"s": str(b.session_id)}],
    ),
}
# Fields that take no id of another account: they can only ever touch the caller's own.
NO_FOREIGN_IDS = {
    "savePsaConnection",
    "overview",
    "coverage",
    "flowQuality",
    "psaActivity",
    "psaActivityEvidence",
    # Spellings, not ids: another account's are refused as unknown (tests/aliases).
    "domainAliases",
    "domainAliasSuggestions",
    "addDomainAlias",
    "removeDomainAlias",
    "dismissDomainAliasSuggestion",
}
# Fields that take another account's id and must answer as if it did not exist.
READS_BY_ID = {"flow", "sessionEvidence"}


async def _b_state(sessionmaker: async_sessionmaker[AsyncSession], b: Tenant) -> tuple[Any, ...]:
    async with sessionmaker() as session:
        row = (
            await session.execute(
                text(
                    "SELECT t.usage_count, t.last_matched_at, s.matched_flow_id, "
                    "(SELECT count(*) FROM psa_activity_log p WHERE p.account_id = t.account_id) "
                    "FROM trees t JOIN ai_sessions s ON s.account_id = t.account_id "
                    "WHERE t.id = :flow"
                ),
                {"flow": b.flow_id},
            )
        ).one()
    return tuple(row)


def test_every_root_field_is_covered() -> None:
    roots = set(schema._schema.query_type.fields)  # type: ignore[union-attr]
    if schema._schema.mutation_type is not None:
        roots |= set(schema._schema.mutation_type.fields)
    assert roots == set(MUTATIONS) | NO_FOREIGN_IDS | READS_BY_ID


async def test_tabs_show_only_the_callers_account(
    role_api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    a = await tenant_with_data(sessionmaker, "A")
    b = await tenant_with_data(sessionmaker, "B")
    for tab in [*sorted(TAB_DOCUMENTS), *sorted(EVIDENCE_DOCUMENTS)]:
        data = await role_api.data(
            tab_query(tab), {"period": "LAST_7_DAYS"}, token=token_for(a.account_id)
        )
        dump = json.dumps(data)
        assert "B secret flow" not in dump and "B-domain" not in dump and str(b.flow_id) not in dump
        if tab == "overview":
            assert data["overview"]["sessionCount"] == 1
        if tab == "psa":
            assert data["psaActivity"]["totalHoursLogged"] == 2.0
        if tab == "flow-quality":
            assert [f["flow"]["name"] for f in data["flowQuality"]["flows"]] == ["A secret flow"]
        if tab == "session-evidence":
            assert data["sessionEvidence"]["totalCount"] == 1
            assert data["sessionEvidence"]["nodes"][0]["problemDomain"] == "A-domain"
        if tab == "psa-evidence":
            assert data["psaActivityEvidence"]["totalCount"] == 2


async def test_foreign_ids_get_null_or_not_found_and_b_is_untouched(
    role_api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    a = await tenant_with_data(sessionmaker, "A")
    b = await tenant_with_data(sessionmaker, "B")
    before = await _b_state(sessionmaker, b)
    own = await role_api.data(
        "query($id: ID!) { flow(id: $id) { flow { id name } } }",
        {"id": str(a.flow_id)},
        token=token_for(a.account_id),
    )
    assert own == {"flow": {"flow": {"id": str(a.flow_id), "name": "A secret flow"}}}
    for role in ("team_admin", "admin"):
        foreign = await role_api.data(
            "query($id: ID!) { flow(id: $id) { flow { name } usageCount } }",
            {"id": str(b.flow_id)},
            token=token_for(a.account_id, role),
        )
        assert foreign == {"flow": None}
    evidence = (
        "query($id: ID!) { sessionEvidence(period: LAST_7_DAYS, filter: {flowId: $id})"
        " { totalCount nodes { id problemDomain pushes { id } } } }"
    )
    mine = await role_api.data(evidence, {"id": str(a.flow_id)}, token=token_for(a.account_id))
    assert mine["sessionEvidence"]["totalCount"] == 1
    assert mine["sessionEvidence"]["nodes"][0]["id"] == str(a.session_id)
    assert len(mine["sessionEvidence"]["nodes"][0]["pushes"]) == 2
    theirs = await role_api.data(evidence, {"id": str(b.flow_id)}, token=token_for(a.account_id))
    assert theirs == {"sessionEvidence": {"totalCount": 0, "nodes": []}}
    for name, (document, variable_sets) in MUTATIONS.items():
        for variables in variable_sets(a, b):
            for role in ("admin", "service"):
                body = await role_api.execute(
                    document, variables, token=token_for(a.account_id, role)
                )
                assert codes(body) == ["NOT_FOUND"], (name, role, body)
                assert body["data"] is None
                assert "B secret" not in json.dumps(body)
    assert await _b_state(sessionmaker, b) == before
