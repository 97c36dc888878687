"""The first-party tab documents in queries/ validate against the schema and execute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from graphql import parse, validate

from queries import TAB_DOCUMENTS, tab_query
from schema.build import schema
from tests.factories import AccountBuilder
from tests.graphql_client import ApiClient, token_for


@pytest.mark.parametrize("tab", sorted(TAB_DOCUMENTS))
def test_tab_document_is_valid(tab: str) -> None:
    assert validate(schema._schema, parse(tab_query(tab))) == []


@pytest.mark.parametrize("tab", sorted(TAB_DOCUMENTS))
async def test_tab_document_executes_with_real_numbers(
    api: ApiClient, sessionmaker: object, tab: str
) -> None:
    account = await AccountBuilder.create(sessionmaker)  # type: ignore[arg-type]
    now = datetime.now(UTC) - timedelta(hours=2)
    flow = await account.flow("Unlock account", "Identity", last_matched_at=now, usage_count=1)
    session = await account.session(
        now,
        domain="Identity",
        status="resolved",
        tier="guided",
        flow_id=flow,
        confidence=0.9,
        resolved_at=now + timedelta(minutes=30),
        ticket="42",
    )
    await account.activity("note_posted", now, session_id=session)
    await account.activity("time_entry_posted", now, session_id=session, hours=1.5)
    before = datetime.now(UTC)
    data = await api.data(
        tab_query(tab), {"period": "LAST_7_DAYS"}, token=token_for(account.account_id)
    )
    after = datetime.now(UTC)
    root = next(iter(data.values()))
    assert root["period"] == "LAST_7_DAYS"
    # asOf is the request's own now: taken while the request ran.
    assert before <= datetime.fromisoformat(root["asOf"]) <= after
    if tab in ("overview", "psa"):
        assert root["changes"] is None  # no compareTo sent
    if tab == "overview":
        assert root["sessionCount"] == 1 and root["mttrMinutes"] == 30.0
        assert len(root["dailyTrend"]) == 7
        assert sum(point["sessions"] for point in root["dailyTrend"]) == 1
    elif tab == "coverage":
        assert root["domains"][0]["name"] == "Identity"
        assert root["domains"][0]["flows"] == [
            {"flow": {"id": str(flow), "name": "Unlock account"}, "usageCount": 1}
        ]
    elif tab == "flow-quality":
        assert root["totalFlows"] == 1 and root["flows"][0]["usageCount"] == 1
        assert root["flows"][0]["flow"]["id"] == str(flow)
        assert root["flows"][0]["flow"]["totalUsageCount"] == 1
    else:
        assert root["totalHoursLogged"] == 1.5
        assert root["pushFunnel"]["timeEntryLogged"] == 1
        assert len(root["dailyTrend"]) == 7
