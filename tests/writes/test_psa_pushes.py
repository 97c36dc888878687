"""PSA pushes over real HTTP to the fake ConnectWise: success, errors, retries, recovery."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence import psa_outbox
from persistence.tenancy import account_transaction
from psa.credentials import open_private_key
from tests.factories import AccountBuilder
from tests.fakes.connectwise_server import (
    FakeConnectWise,
    cw_error,
    rate_limited,
    server_timeout,
    slow,
)
from tests.graphql_client import ApiClient, token_for
from tests.writes.conftest import MEMBER_ID, SECRET_KEY, LinkedAccount
from writes.psa_pushes import PsaPushService

TIME_ENTRY = """
mutation($input: PushTimeEntryInput!) {
  pushTimeEntry(input: $input) {
    activityId type psaTicketId externalId hoursLogged replayed
  }
}
"""
NOTE = """
mutation($input: PushTicketNoteInput!) {
  pushTicketNote(input: $input) { activityId type psaTicketId externalId hoursLogged }
}
"""
STATUS = """
mutation($input: UpdateTicketStatusInput!) {
  updateTicketStatus(input: $input) { activityId type psaTicketId externalId }
}
"""
PSA_TAB = """
query {
  psaActivity(period: LAST_7_DAYS) {
    totalTimeEntries totalHoursLogged avgHoursPerSession
    activityCounts { type count }
    pushFunnel { totalSessions linkedToTicket docPushed timeEntryLogged }
  }
}
"""
SAVE = """
mutation($input: PsaConnectionInput!) {
  savePsaConnection(input: $input) {
    site codebase companyId publicKey clientId defaultMemberId hasPrivateKey
  }
}
"""


async def activity_rows(
    sessionmaker: async_sessionmaker[AsyncSession], account: uuid.UUID
) -> list[tuple[Any, ...]]:
    async with account_transaction(sessionmaker, account) as session:
        rows = await session.execute(
            text(
                "SELECT activity_type, psa_ticket_id, hours_logged, external_id, session_id "
                "FROM psa_activity_log WHERE account_id = :a ORDER BY activity_type, external_id"
            ),
            {"a": account},
        )
        return [tuple(row) for row in rows]


async def outbox_states(
    sessionmaker: async_sessionmaker[AsyncSession], account: uuid.UUID
) -> list[tuple[Any, ...]]:
    async with account_transaction(sessionmaker, account) as session:
        rows = await session.execute(
            text(
                "SELECT activity_type, state, last_error FROM psa_outbox "
                "WHERE account_id = :a ORDER BY created_at, activity_type"
            ),
            {"a": account},
        )
        return [tuple(row) for row in rows]


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_each_push_type_reaches_connectwise_and_is_logged_once(
    writes_api: ApiClient,
    linked: LinkedAccount,
    cw: FakeConnectWise,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    token = linked.engineer_token
    start = datetime(2025, 3, 3, 14, 0, tzinfo=UTC)
    entry = await writes_api.data(
        TIME_ENTRY,
        {
            "input": {
                "sessionId": str(linked.session_100),
                "hours": 1.5,
                "notes": "Reset the VPN profile",
                "timeStart": start.isoformat(),
            }
        },
        token=token,
    )
    note = await writes_api.data(
        NOTE,
        {"input": {"sessionId": str(linked.session_100), "text": "Root cause: stale cert"}},
        token=token,
    )
    status = await writes_api.data(
        STATUS, {"input": {"sessionId": str(linked.session_200), "statusId": 31}}, token=token
    )

    assert entry["pushTimeEntry"] == {
        "activityId": entry["pushTimeEntry"]["activityId"],
        "type": "TIME_ENTRY_POSTED",
        "psaTicketId": "100",
        "externalId": "1001",
        "hoursLogged": 1.5,
        "replayed": False,
    }
    assert note["pushTicketNote"]["externalId"] == "1002"
    assert note["pushTicketNote"]["type"] == "NOTE_POSTED"
    assert status["updateTicketStatus"]["externalId"].startswith("200:status:31:")
    assert cw.tickets[200].status_id == 31

    posted = [(r.method, r.path, r.body) for r in cw.requests]
    assert posted[0][:2] == ("POST", "/v4_6_release/apis/3.0/time/entries")
    assert posted[0][2] == {
        "chargeToId": 100,
        "chargeToType": "ServiceTicket",
        "member": {"id": MEMBER_ID},
        "timeStart": "2025-03-03T14:00:00Z",
        "timeEnd": "2025-03-03T15:30:00Z",
        "actualHours": 1.5,
        "notes": "Reset the VPN profile",
    }
    assert posted[1][:2] == ("POST", "/v4_6_release/apis/3.0/service/tickets/100/notes")
    assert posted[1][2]["internalAnalysisFlag"] is True
    assert posted[2] == (
        "PATCH",
        "/v4_6_release/apis/3.0/service/tickets/200",
        [{"op": "replace", "path": "status/id", "value": 31}],
    )
    assert cw.requests[0].headers["authorization"] == cw.expected_authorization()

    status_id = status["updateTicketStatus"]["externalId"]
    assert await activity_rows(sessionmaker, linked.builder.account_id) == [
        ("note_posted", "100", None, "1002", linked.session_100),
        ("status_updated", "200", None, status_id, linked.session_200),
        ("time_entry_posted", "100", 1.5, "1001", linked.session_100),
    ]
    assert [s for _t, s, _e in await outbox_states(sessionmaker, linked.builder.account_id)] == [
        "done",
        "done",
        "done",
    ]


async def test_psa_tab_reports_the_pushes(
    writes_api: ApiClient, linked: LinkedAccount, cw: FakeConnectWise
) -> None:
    token = linked.engineer_token
    for session_id, hours in ((linked.session_100, 1.25), (linked.session_100, 0.5)):
        await writes_api.data(
            TIME_ENTRY, {"input": {"sessionId": str(session_id), "hours": hours}}, token=token
        )
    await writes_api.data(
        NOTE, {"input": {"sessionId": str(linked.session_100), "text": "done"}}, token=token
    )
    await writes_api.data(
        TIME_ENTRY, {"input": {"sessionId": str(linked.session_200), "hours": 2.0}}, token=token
    )

    tab = (
        await writes_api.data(PSA_TAB, token=token_for(linked.builder.account_id, "team_admin"))
    )["psaActivity"]

    assert tab["totalTimeEntries"] == 3
    assert tab["totalHoursLogged"] == 3.75
    assert tab["avgHoursPerSession"] == 3.75 / 2
    assert {c["type"]: c["count"] for c in tab["activityCounts"]} == {
        "TIME_ENTRY_POSTED": 3,
        "NOTE_POSTED": 1,
        "STATUS_UPDATED": 0,
    }
    # Three sessions; two linked; only session_100 has a note, and it has time too.
    assert tab["pushFunnel"] == {
        "totalSessions": 3,
        "linkedToTicket": 2,
        "docPushed": 1,
        "timeEntryLogged": 1,
    }


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (cw_error(400, "InvalidObject", "TimeEntry object is invalid", []), "PSA_INVALID_REQUEST"),
        (cw_error(401, "Unauthorized", "Incorrect public/private key"), "PSA_AUTH_FAILED"),
        (cw_error(403, "Security", "Member lacks rights"), "PSA_FORBIDDEN"),
        (cw_error(404, "NotFound", "Ticket 100 not found"), "PSA_NOT_FOUND"),
        (rate_limited("0"), "PSA_RATE_LIMITED"),
    ],
    ids=["invalid", "auth", "forbidden", "not-found", "429"],
)
async def test_each_connectwise_refusal_maps_to_a_code_and_logs_nothing(
    writes_api: ApiClient,
    linked: LinkedAccount,
    cw: FakeConnectWise,
    sessionmaker: async_sessionmaker[AsyncSession],
    answer: Any,
    code: str,
) -> None:
    cw.script(answer, answer, answer)  # every attempt (1 + 2 retries) gets it
    body = await writes_api.execute(
        TIME_ENTRY,
        {"input": {"sessionId": str(linked.session_100), "hours": 1.0}},
        token=linked.engineer_token,
    )
    assert codes(body) == [code]
    assert await activity_rows(sessionmaker, linked.builder.account_id) == []
    assert await outbox_states(sessionmaker, linked.builder.account_id) == [
        ("time_entry_posted", "failed", code)
    ]


UNKNOWN_OUTCOMES = pytest.mark.parametrize(
    ("answer", "cause"),
    [
        (cw_error(503, "ServiceUnavailable", "down"), "PSA_UNAVAILABLE"),
        (cw_error(502, "BadGateway", "bad gateway"), "PSA_UNAVAILABLE"),
        (server_timeout(), "PSA_UNAVAILABLE"),
        (slow(5.0), "PSA_TIMEOUT"),
    ],
    ids=["503", "502", "500-timeout", "timeout"],
)


@UNKNOWN_OUTCOMES
@pytest.mark.parametrize("push", ["time_entry", "note"])
async def test_a_post_without_a_clear_answer_is_sent_once_and_never_again(
    writes_api: ApiClient,
    linked: LinkedAccount,
    cw: FakeConnectWise,
    pushes: PsaPushService,
    sessionmaker: async_sessionmaker[AsyncSession],
    answer: Any,
    cause: str,
    push: str,
) -> None:
    """Timeouts and 5xx after a POST: ConnectWise may hold the record, so exactly one POST;
    the row is `abandoned`/OUTCOME_UNKNOWN, and neither a replay nor recovery re-sends it."""
    cw.script(answer, answer, answer)
    session = str(linked.session_100)
    document, variables = (
        (NOTE, {"input": {"sessionId": session, "text": "x", "idempotencyKey": "k"}})
        if push == "note"
        else (TIME_ENTRY, {"input": {"sessionId": session, "hours": 1.0, "idempotencyKey": "k"}})
    )
    body = await writes_api.execute(document, variables, token=linked.engineer_token)
    assert codes(body) == ["PSA_OUTCOME_UNKNOWN"]
    assert body["errors"][0]["extensions"]["cause"] == cause
    activity = "note_posted" if push == "note" else "time_entry_posted"
    account = linked.builder.account_id
    assert await outbox_states(sessionmaker, account) == [
        (activity, "abandoned", "OUTCOME_UNKNOWN")
    ]

    again = await writes_api.execute(document, variables, token=linked.engineer_token)
    assert codes(again) == ["CONFLICT"]
    await pushes.recover(now=datetime.now(UTC) + timedelta(hours=1))
    assert [r.method for r in cw.requests] == ["POST"]
    assert await activity_rows(sessionmaker, account) == []


@UNKNOWN_OUTCOMES
async def test_the_status_patch_is_retried_on_timeouts_and_5xx(
    writes_api: ApiClient,
    linked: LinkedAccount,
    cw: FakeConnectWise,
    sessionmaker: async_sessionmaker[AsyncSession],
    answer: Any,
    cause: str,
) -> None:
    cw.script(answer, answer, answer)  # 1 + 2 retries, all fail
    variables = {"input": {"sessionId": str(linked.session_100), "statusId": 17}}
    body = await writes_api.execute(STATUS, variables, token=linked.engineer_token)
    assert codes(body) == [cause]
    assert [r.method for r in cw.requests] == ["PATCH"] * 3
    assert await outbox_states(sessionmaker, linked.builder.account_id) == [
        ("status_updated", "failed", cause)
    ]


async def test_rate_limited_then_success_is_logged_once(
    writes_api: ApiClient,
    linked: LinkedAccount,
    cw: FakeConnectWise,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    cw.script(rate_limited("0"), rate_limited(None))
    body = await writes_api.data(
        NOTE,
        {"input": {"sessionId": str(linked.session_200), "text": "x", "resolution": True}},
        token=linked.engineer_token,
    )
    assert len(cw.requests) == 3
    assert body["pushTicketNote"]["externalId"] == "1001"
    assert await activity_rows(sessionmaker, linked.builder.account_id) == [
        ("note_posted", "200", None, "1001", linked.session_200)
    ]


async def test_refusals_before_calling_connectwise(
    writes_api: ApiClient,
    linked: LinkedAccount,
    cw: FakeConnectWise,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    account = linked.builder.account_id
    unlinked = {"input": {"sessionId": str(linked.unlinked_session), "hours": 1.0}}
    assert codes(await writes_api.execute(TIME_ENTRY, unlinked, token=linked.engineer_token)) == [
        "SESSION_NOT_LINKED"
    ]
    other = token_for(uuid.uuid4(), "admin")
    mine = {"input": {"sessionId": str(linked.session_100), "hours": 1.0}}
    assert codes(await writes_api.execute(TIME_ENTRY, mine, token=other)) == ["NOT_FOUND"]
    no_flags = {
        "input": {
            "sessionId": str(linked.session_100),
            "text": "x",
            "internalAnalysis": False,
        }
    }
    assert codes(await writes_api.execute(NOTE, no_flags, token=linked.engineer_token)) == [
        "BAD_USER_INPUT"
    ]
    nul = {"input": {"sessionId": str(linked.session_100), "hours": 1.0, "notes": "a\x00b"}}
    assert codes(await writes_api.execute(TIME_ENTRY, nul, token=linked.engineer_token)) == [
        "BAD_USER_INPUT"
    ]
    assert cw.requests == []
    assert await outbox_states(sessionmaker, account) == []


async def test_same_idempotency_key_pushes_once(
    writes_api: ApiClient,
    linked: LinkedAccount,
    cw: FakeConnectWise,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    variables = {
        "input": {"sessionId": str(linked.session_100), "hours": 0.75, "idempotencyKey": "k-1"}
    }
    first = await writes_api.data(TIME_ENTRY, variables, token=linked.engineer_token)
    second = await writes_api.data(TIME_ENTRY, variables, token=linked.engineer_token)
    assert second["pushTimeEntry"] == {**first["pushTimeEntry"], "replayed": True}
    assert len(cw.requests) == 1
    assert len(await activity_rows(sessionmaker, linked.builder.account_id)) == 1


async def test_crash_between_connectwise_and_log_write_is_recovered_exactly_once(
    linked: LinkedAccount,
    cw: FakeConnectWise,
    pushes: PsaPushService,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = linked.builder.account_id

    async def crash(*_args: Any) -> None:
        raise ConnectionError("database went away")

    monkeypatch.setattr(psa_outbox, "complete", crash)
    with pytest.raises(ConnectionError):
        await pushes.push_time_entry(account, linked.session_100, hours=2.0, notes="n")
    monkeypatch.undo()

    assert len(cw.requests) == 1
    assert await activity_rows(sessionmaker, account) == []
    assert await outbox_states(sessionmaker, account) == [("time_entry_posted", "pending", None)]

    await pushes.recover()
    await pushes.recover()

    assert len(cw.requests) == 1  # ConnectWise was not called again
    assert await activity_rows(sessionmaker, account) == [
        ("time_entry_posted", "100", 2.0, "1001", linked.session_100)
    ]
    assert await outbox_states(sessionmaker, account) == [("time_entry_posted", "done", None)]


async def test_recovery_abandons_unknown_posts_and_resends_status_changes(
    linked: LinkedAccount,
    cw: FakeConnectWise,
    pushes: PsaPushService,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Rows left pending with no external id: the crash came before the PSA answered."""
    account = linked.builder.account_id
    async with account_transaction(sessionmaker, account) as session:
        for activity, payload, ticket in (
            (
                "note_posted",
                {
                    "text": "t",
                    "detail_description": True,
                    "internal_analysis": False,
                    "resolution": False,
                },
                "100",
            ),
            ("status_updated", {"status_id": 17}, "100"),
        ):
            await psa_outbox.create_intent(
                session,
                psa_outbox.Intent(account, linked.session_100, activity, ticket, payload),
            )

    fresh = await pushes.recover()
    assert fresh.waiting >= 2  # in flight as far as anyone knows: left alone
    assert cw.requests == []

    later = datetime.now(UTC) + timedelta(hours=1)
    report = await pushes.recover(now=later)
    assert report.abandoned >= 1 and report.retried >= 1
    assert [(r.method, r.body) for r in cw.requests] == [
        ("PATCH", [{"op": "replace", "path": "status/id", "value": 17}])
    ]
    assert await outbox_states(sessionmaker, account) == [
        ("note_posted", "abandoned", "OUTCOME_UNKNOWN"),
        ("status_updated", "done", None),
    ]
    assert [row[0] for row in await activity_rows(sessionmaker, account)] == ["status_updated"]


async def test_connection_settings_are_admin_only_and_never_return_the_key(
    writes_api: ApiClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    cw: FakeConnectWise,
) -> None:
    account = (await AccountBuilder.create(sessionmaker)).account_id
    values = {
        "site": "api-na.myconnectwise.net",
        "codebase": "v2025_1/",
        "companyId": "acme",
        "publicKey": "pub",
        "clientId": "cid",
        "privateKey": "very-secret-private",
        "defaultMemberId": 42,
    }
    admin = token_for(account, "admin")
    response = await writes_api.post(SAVE, {"input": values}, token=admin)
    assert "very-secret-private" not in response.text
    saved = response.json()["data"]["savePsaConnection"]
    assert saved == {
        "site": "api-na.myconnectwise.net",
        "codebase": "v2025_1/",
        "companyId": "acme",
        "publicKey": "pub",
        "clientId": "cid",
        "defaultMemberId": 42,
        "hasPrivateKey": True,
    }
    async with account_transaction(sessionmaker, account) as session:
        stored = (
            await session.execute(
                text("SELECT private_key_encrypted FROM psa_connections WHERE account_id = :a"),
                {"a": account},
            )
        ).scalar_one()
    assert "very-secret-private" not in stored
    assert open_private_key(stored, SECRET_KEY, account) == "very-secret-private"

    # Without a private key the stored one is kept.
    kept = {k: v for k, v in values.items() if k != "privateKey"} | {"codebase": "v2025_2/"}
    assert "errors" not in await writes_api.execute(SAVE, {"input": kept}, token=admin)
    missing = token_for(uuid.uuid4(), "admin")
    assert codes(await writes_api.execute(SAVE, {"input": values}, token=missing)) == ["NOT_FOUND"]
    for role in ("team_admin", "engineer", "service"):
        body = await writes_api.execute(SAVE, {"input": values}, token=token_for(account, role))
        assert codes(body) == ["FORBIDDEN"]
