"""CSV export: parsed back with the csv module and compared with the GraphQL answer."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from queries import TAB_DOCUMENTS, tab_query
from tests.factories import AccountBuilder
from tests.graphql_client import ApiClient, token_for

TRICKY_NAME = 'Reset "MFA", then\nretry'


async def seeded_account(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> tuple[AccountBuilder, str]:
    """Two domains, two flows (one with a name that needs RFC 4180 quoting), PSA activity."""
    account = await AccountBuilder.create(sessionmaker)
    now = datetime.now(UTC) - timedelta(hours=3)
    mfa = await account.flow(TRICKY_NAME, "Identity", last_matched_at=now, usage_count=2)
    await account.flow("Mailbox full", "Email", last_matched_at=now, usage_count=1)
    resolved = await account.session(
        now,
        domain="Identity",
        status="resolved",
        tier="guided",
        flow_id=mfa,
        confidence=0.9,
        resolved_at=now + timedelta(minutes=20),
        ticket="71",
    )
    await account.session(now, domain="Identity", status="escalated", tier="exploring")
    await account.session(now, domain="Email", status="resolved", tier="discovery", resolved_at=now)
    await account.activity("time_entry_posted", now, session_id=resolved, hours=1.25)
    await account.activity("note_posted", now, session_id=resolved)
    return account, token_for(account.account_id)


async def export(api: ApiClient, path: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await api.http.get(path, headers=headers)


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return ";".join(cell(item) for item in value)
    return str(value)


def expected_rows(tab: str, answer: dict[str, Any]) -> list[dict[str, str]]:
    """The documented layout, derived from the answer's data (not from the document)."""
    rows: list[dict[str, str]] = []

    def scalars(value: dict[str, Any], prefix: str, row: dict[str, str]) -> None:
        for key, item in value.items():
            if isinstance(item, dict):
                scalars(item, f"{prefix}{key}.", row)
            elif not (isinstance(item, list) and item and isinstance(item[0], dict)):
                row[prefix + key] = cell(item)

    def emit(value: dict[str, Any], section: str, position: str) -> None:
        row = {"section": section, "position": position}
        scalars(value, "", row)
        rows.append(row)
        for key, item in value.items():
            if isinstance(item, list) and item and isinstance(item[0], dict):
                child = key if section == tab else f"{section}.{key}"
                for index, element in enumerate(item, start=1):
                    emit(element, child, f"{position}.{index}" if position else str(index))

    emit(answer, tab, "")
    return rows


@pytest.mark.parametrize("tab", sorted(TAB_DOCUMENTS))
async def test_csv_matches_the_graphql_answer(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession], tab: str
) -> None:
    _, token = await seeded_account(sessionmaker)
    variables: dict[str, Any] = {"period": "LAST_7_DAYS"}
    if tab == "flow-quality":
        variables["first"] = None
    data = await api.data(tab_query(tab), variables, token=token)
    answer = next(iter(data.values()))

    response = await export(api, f"/export/{tab}.csv?period=LAST_7_DAYS", token)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = parse(response.text)
    # Every row has every column (RFC 4180: same field count); absent fields are empty.
    expected = expected_rows(tab, answer)
    columns = list(rows[0].keys())
    assert columns[:2] == ["section", "position"]
    # Recency decays with the clock, so it moves between the two requests; compare it
    # to a tolerance and everything else exactly.
    drifting = {"recencyScore", "qualityScore"}
    for got, want in zip(rows, expected, strict=True):
        for name in drifting & set(want):
            assert abs(float(got.pop(name)) - float(want.pop(name))) < 1e-3
    assert [{k: v for k, v in row.items() if v != ""} for row in rows] == [
        {k: v for k, v in row.items() if v != ""} for row in expected
    ]
    assert all(set(row) <= set(columns) for row in expected)


async def test_csv_values_by_hand(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, token = await seeded_account(sessionmaker)
    overview = parse((await export(api, "/export/overview.csv?period=LAST_7_DAYS", token)).text)
    root = overview[0]
    assert (root["section"], root["period"], root["sessionCount"]) == (
        "overview",
        "LAST_7_DAYS",
        "3",
    )
    assert root["resolutionRate"] == repr(2 / 3)  # unformatted float
    assert root["confidenceTiers.guided"] == "1"
    assert root["avgRating"] == ""  # null
    identity = next(r for r in overview if r["section"] == "domains" and r["name"] == "Identity")
    assert identity["sessionCount"] == "2" and identity["escalationRate"] == "0.5"

    response = await export(api, "/export/coverage.csv?period=LAST_7_DAYS", token)
    assert '"Reset ""MFA"", then\r\nretry"' in response.text or '""MFA""' in response.text
    flows = [r for r in parse(response.text) if r["section"] == "domains.flows"]
    assert TRICKY_NAME in {r["name"] for r in flows}  # quoting round-trips
    assert all(r["position"].count(".") == 1 for r in flows)

    psa = parse((await export(api, "/export/psa.csv?period=LAST_7_DAYS", token)).text)
    trend = [r for r in psa if r["section"] == "dailyTrend"]
    assert len(trend) == 7
    assert [r["position"] for r in trend] == [str(i) for i in range(1, 8)]
    datetime.strptime(trend[0]["date"], "%Y-%m-%d")  # ISO date
    assert psa[0]["totalHoursLogged"] == "1.25"
    assert psa[0]["pushFunnel.timeEntryLogged"] == "1"

    flows_csv = parse(
        (await export(api, "/export/flow-quality.csv?period=LAST_7_DAYS", token)).text
    )
    table = [r for r in flows_csv if r["section"] == "flows"]
    assert {r["name"] for r in table} == {TRICKY_NAME, "Mailbox full"}
    datetime.fromisoformat(table[0]["lastMatchedAt"])  # ISO timestamp


async def test_csv_needs_a_token_and_an_analytics_role(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    account, _ = await seeded_account(sessionmaker)
    missing = await export(api, "/export/overview.csv", None)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "UNAUTHENTICATED"
    garbage = await export(api, "/export/overview.csv", "not-a-jwt")
    assert garbage.status_code == 401
    engineer = token_for(account.account_id, "engineer")
    forbidden = await export(api, "/export/psa.csv", engineer)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "FORBIDDEN"
    admin = token_for(account.account_id, "admin")
    assert (await export(api, "/export/psa.csv", admin)).status_code == 200


async def test_csv_bad_parameters_are_400_with_a_code(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, token = await seeded_account(sessionmaker)
    bad_period = await export(api, "/export/overview.csv?period=LAST_DECADE", token)
    assert bad_period.status_code == 400
    assert bad_period.json()["error"]["code"] == "BAD_USER_INPUT"
    unknown = await export(api, "/export/overview.csv?perod=LAST_7_DAYS", token)
    assert unknown.status_code == 400 and "perod" in unknown.json()["error"]["message"]
    missing_tab = await export(api, "/export/payroll.csv", token)
    assert missing_tab.status_code == 404


async def test_csv_shows_only_the_callers_account(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, token_a = await seeded_account(sessionmaker)
    other = await AccountBuilder.create(sessionmaker)
    secret = f"Other tenant flow {uuid.uuid4().hex}"
    now = datetime.now(UTC) - timedelta(hours=2)
    await other.flow(secret, "Network", last_matched_at=now, usage_count=5)
    await other.session(now, domain="Network", status="resolved", tier="guided")
    token_b = token_for(other.account_id)

    a_text = (await export(api, "/export/flow-quality.csv?period=LAST_7_DAYS", token_a)).text
    b_rows = parse((await export(api, "/export/overview.csv?period=LAST_7_DAYS", token_b)).text)
    assert secret not in a_text and "Network" not in a_text
    assert b_rows[0]["sessionCount"] == "1"
    assert [r["name"] for r in b_rows if r["section"] == "domains"] == ["Network"]
