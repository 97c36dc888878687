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
    query = "period=LAST_7_DAYS"
    if tab == "flow-quality":
        variables["first"] = None
    if tab in ("overview", "psa"):
        # With a comparison, `changes` is an object whose dotted columns carry values.
        variables["compareTo"] = "PREVIOUS_PERIOD"
        query += "&compareTo=PREVIOUS_PERIOD"
    data = await api.data(tab_query(tab), variables, token=token)
    answer = next(iter(data.values()))
    if tab in ("overview", "psa"):
        assert answer["changes"] is not None

    before = datetime.now(UTC)
    response = await export(api, f"/export/{tab}.csv?{query}", token)
    after = datetime.now(UTC)
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
    # asOf is each request's own now: the export's is taken while the export ran, after
    # the GraphQL answer's.
    exported_at = datetime.fromisoformat(rows[0].pop("asOf"))
    answered_at = datetime.fromisoformat(expected[0].pop("asOf"))
    assert answered_at <= before <= exported_at <= after
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
    # No compareTo: the null `changes` object leaves its dotted columns empty.
    assert root["changes.sessionCount.previous"] == ""
    assert root["changes.avgRating.relative"] == ""
    trend = [r for r in overview if r["section"] == "dailyTrend"]
    assert len(trend) == 7 and sum(int(r["sessions"]) for r in trend) == 3
    identity = next(r for r in overview if r["section"] == "domains" and r["name"] == "Identity")
    assert identity["sessionCount"] == "2" and identity["escalationRate"] == "0.5"

    response = await export(api, "/export/coverage.csv?period=LAST_7_DAYS", token)
    assert '"Reset ""MFA"", then\r\nretry"' in response.text or '""MFA""' in response.text
    flows = [r for r in parse(response.text) if r["section"] == "domains.flows"]
    assert TRICKY_NAME in {r["flow.name"] for r in flows}  # quoting round-trips
    assert all(r["position"].count(".") == 1 for r in flows)
    # Nested objects are dotted columns; the one resolved session was matched to MFA.
    assert {(r["flow.name"], r["usageCount"]) for r in flows} == {
        (TRICKY_NAME, "1"),
        ("Mailbox full", "0"),
    }

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
    assert {r["flow.name"] for r in table} == {TRICKY_NAME, "Mailbox full"}
    datetime.fromisoformat(table[0]["flow.lastMatchedAt"])  # ISO timestamp
    # Lifetime counters (the flow itself) beside the window's figures.
    assert {(r["flow.name"], r["flow.totalUsageCount"], r["usageCount"]) for r in table} == {
        (TRICKY_NAME, "2", "1"),
        ("Mailbox full", "1", "0"),
    }


async def test_csv_takes_a_custom_range_as_from_and_to(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, token = await seeded_account(sessionmaker)
    # The seeded sessions started 3 hours ago (UTC account): in today's range, not in
    # yesterday's (unless today began less than 3 hours ago).
    now = datetime.now(UTC)
    started = (now - timedelta(hours=3)).date()
    day = started.isoformat()
    rows = parse((await export(api, f"/export/overview.csv?from={day}&to={day}", token)).text)
    assert (rows[0]["from"], rows[0]["to"], rows[0]["sessionCount"]) == (day, day, "3")
    before = (started - timedelta(days=1)).isoformat()
    earlier = parse(
        (await export(api, f"/export/overview.csv?from={before}&to={before}", token)).text
    )
    assert (earlier[0]["from"], earlier[0]["to"], earlier[0]["sessionCount"]) == (
        before,
        before,
        "0",
    )
    half = await export(api, f"/export/overview.csv?from={day}", token)
    assert half.status_code == 400
    assert half.json()["error"]["code"] == "BAD_USER_INPUT"
    assert "from and to" in half.json()["error"]["message"]
    raw = await export(api, f"/export/overview.csv?range={day}", token)
    assert raw.status_code == 400 and "range" in raw.json()["error"]["message"]


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
