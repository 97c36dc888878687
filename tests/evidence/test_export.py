"""CSV export of an evidence list: the same rows as the GraphQL list, one page per file."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import AccountBuilder
from tests.graphql_client import ApiClient, token_for


async def test_session_and_psa_evidence_export_as_csv(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    account = await AccountBuilder.create(sessionmaker, timezone="Europe/London")
    now = datetime.now(UTC) - timedelta(hours=2)
    flow = await account.flow("Reset MFA", "Identity")
    resolved = await account.session(
        now,
        domain="identity ",
        status="resolved",
        flow_id=flow,
        resolved_at=now + timedelta(minutes=90),
        ticket="=71",
    )
    escalated = await account.session(now - timedelta(minutes=5), domain="Identity")
    await account.session(now, domain="Email")
    await account.activity("time_entry_posted", now, session_id=resolved, hours=1.5)
    await account.activity("note_posted", now + timedelta(minutes=1), session_id=resolved)
    headers = {"Authorization": f"Bearer {token_for(account.account_id)}"}

    response = await api.http.get(
        "/export/session-evidence.csv?period=LAST_7_DAYS&domain=IDENTITY&first=1", headers=headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    root, node, *pushes = rows
    assert root["section"] == "session-evidence"
    assert root["totalCount"] == "2"
    assert root["pageInfo.hasNextPage"] == "true"
    assert (node["section"], node["id"]) == ("nodes", str(resolved))
    assert node["resolutionMinutes"] == "90.0"
    assert node["psaTicketId"] == "'=71"  # formula-safe, as every export
    assert [(push["section"], push["type"]) for push in pushes] == [
        ("nodes.pushes", "TIME_ENTRY_POSTED"),
        ("nodes.pushes", "NOTE_POSTED"),
    ]
    cursor = root["pageInfo.endCursor"]
    response = await api.http.get(
        f"/export/session-evidence.csv?period=LAST_7_DAYS&domain=IDENTITY&after={cursor}",
        headers=headers,
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["id"] for row in rows if row["section"] == "nodes"] == [str(escalated)]

    response = await api.http.get(
        "/export/psa-evidence.csv?period=LAST_7_DAYS&type=TIME_ENTRY_POSTED", headers=headers
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[0]["totalCount"] == "1"
    assert [(row["sessionId"], row["hours"]) for row in rows[1:]] == [(str(resolved), "1.5")]

    response = await api.http.get("/export/session-evidence.csv?first=0", headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BAD_USER_INPUT"
    response = await api.http.get("/export/session-evidence.csv")
    assert response.status_code == 401
