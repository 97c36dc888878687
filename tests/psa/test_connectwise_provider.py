"""ConnectWiseProvider against the fake ConnectWise over real HTTP on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from psa.connectwise import ConnectWiseProvider
from psa.credentials import ConnectWiseCredentials
from psa.errors import (
    PsaAuthError,
    PsaForbiddenError,
    PsaNotFoundError,
    PsaOutcomeUnknownError,
    PsaRateLimitedError,
    PsaTimeoutError,
    PsaUnavailableError,
    PsaValidationError,
)
from psa.provider import PsaProvider
from psa.retry import RetryPolicy
from tests.fakes.connectwise_server import (
    FakeConnectWise,
    Scripted,
    cw_error,
    rate_limited,
    server_timeout,
    slow,
)
from tests.psa.conftest import RecordingSleep

# base64("flowpilot_test+pubKEY123:privSECRET-9f8e7d"), computed once by hand.
EXPECTED_AUTH = "Basic Zmxvd3BpbG90X3Rlc3QrcHViS0VZMTIzOnByaXZTRUNSRVQtOWY4ZTdk"
CEST = timezone(timedelta(hours=2))


def test_connectwise_provider_satisfies_the_protocol(provider: ConnectWiseProvider) -> None:
    typed: PsaProvider = provider  # mypy checks the structural match
    assert typed.name == "connectwise"


# -- successful pushes -------------------------------------------------------------------


async def test_time_entry_sends_the_documented_body_and_headers(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise
) -> None:
    result = await provider.push_time_entry(
        "100",
        member_id=42,
        time_start=datetime(2025, 2, 3, 10, 15, 30, 500000, tzinfo=CEST),
        time_end=datetime(2025, 2, 3, 11, 45, 0, tzinfo=CEST),
        actual_hours=1.5,
        notes="Reset the VPN profile",
    )

    assert len(fake_cw.requests) == 1
    sent = fake_cw.requests[0]
    assert sent.method == "POST"
    assert sent.path == "/v4_6_release/apis/3.0/time/entries"
    assert sent.headers["authorization"] == EXPECTED_AUTH
    assert sent.headers["clientid"] == "8c1d8b0e-2f4a-4a44-9d39-0d6f2d5c7a11"
    assert sent.headers["content-type"] == "application/json"
    assert sent.body == {
        "chargeToId": 100,
        "chargeToType": "ServiceTicket",
        "member": {"id": 42},
        "timeStart": "2025-02-03T08:15:30Z",
        "timeEnd": "2025-02-03T09:45:00Z",
        "actualHours": 1.5,
        "notes": "Reset the VPN profile",
    }
    assert result.activity_type == "time_entry_posted"
    assert result.psa_ticket_id == "100"
    assert result.external_id == "1001"
    assert result.hours_logged == 1.5
    assert result.request_id == sent.request_id
    assert result.attempts == 1


async def test_time_entry_optional_fields(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise
) -> None:
    start = datetime(2025, 2, 3, 23, 30, tzinfo=UTC)
    await provider.push_time_entry(
        "100", 7, start, start + timedelta(minutes=45), 0.75, "n",
        billable_option="NoCharge", work_type_id=3,
    )  # fmt: skip
    body = fake_cw.requests[0].body
    assert body["billableOption"] == "NoCharge"
    assert body["workType"] == {"id": 3}
    assert body["timeEnd"] == "2025-02-04T00:15:00Z"


async def test_ids_increment_per_created_record(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise
) -> None:
    first = await provider.push_ticket_note("100", "one", internal_analysis=True)
    second = await provider.push_ticket_note("200", "two", internal_analysis=True)
    assert (first.external_id, second.external_id) == ("1001", "1002")


async def test_ticket_note_body(provider: ConnectWiseProvider, fake_cw: FakeConnectWise) -> None:
    result = await provider.push_ticket_note(
        "100", "Customer confirmed the fix", resolution=True, member_id=42
    )

    sent = fake_cw.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v4_6_release/apis/3.0/service/tickets/100/notes")
    assert sent.headers["authorization"] == EXPECTED_AUTH
    assert sent.body == {
        "text": "Customer confirmed the fix",
        "detailDescriptionFlag": False,
        "internalAnalysisFlag": False,
        "resolutionFlag": True,
        "processNotifications": False,
        "member": {"id": 42},
    }
    assert (result.activity_type, result.external_id, result.psa_ticket_id) == (
        "note_posted",
        "1001",
        "100",
    )
    assert result.hours_logged is None


async def test_status_update_patches_status_id(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise
) -> None:
    result = await provider.update_ticket_status("100", 564, idempotency_key="outbox-7")

    sent = fake_cw.requests[0]
    assert (sent.method, sent.path) == ("PATCH", "/v4_6_release/apis/3.0/service/tickets/100")
    assert sent.body == [{"op": "replace", "path": "status/id", "value": 564}]
    assert fake_cw.tickets[100].status_id == 564
    assert result.activity_type == "status_updated"
    assert result.external_id == "100:status:564:outbox-7"
    assert result.request_id == sent.request_id


async def test_status_update_retried_with_same_key_gives_same_external_id(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise
) -> None:
    first = await provider.update_ticket_status("100", 17, idempotency_key="outbox-9")
    again = await provider.update_ticket_status("100", 17, idempotency_key="outbox-9")
    assert first.external_id == again.external_id == "100:status:17:outbox-9"
    assert len(fake_cw.requests) == 2


async def test_status_update_without_key_uses_last_updated(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise
) -> None:
    # The fake stamps the n-th update of a ticket 2025-02-01T09:00:00Z + n seconds.
    first = await provider.update_ticket_status("100", 17)
    second = await provider.update_ticket_status("100", 564)
    assert first.external_id == "100:status:17:2025-02-01T09:00:01Z"
    assert second.external_id == "100:status:564:2025-02-01T09:00:02Z"


async def test_version_pin_goes_in_accept(
    fake_cw: FakeConnectWise, credentials: ConnectWiseCredentials, http_client: httpx.AsyncClient
) -> None:
    pinned = ConnectWiseProvider(
        credentials, client=http_client, base_url=fake_cw.api_url, api_version="2025.16"
    )
    await pinned.push_ticket_note("100", "x", detail_description=True)
    assert (
        fake_cw.requests[0].headers["accept"]
        == "application/vnd.connectwise.com+json; version=2025.16"
    )


async def test_provider_owning_its_client_closes_it(
    fake_cw: FakeConnectWise, credentials: ConnectWiseCredentials
) -> None:
    async with ConnectWiseProvider(credentials, base_url=fake_cw.api_url) as own:
        result = await own.push_ticket_note("200", "x", internal_analysis=True)
    assert result.external_id == "1001"
    assert own._client.is_closed


# -- refused before sending --------------------------------------------------------------


async def test_note_without_any_flag_is_refused_before_sending(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise
) -> None:
    with pytest.raises(PsaValidationError) as caught:
        await provider.push_ticket_note("100", "Where does this go?")
    assert caught.value.code == "PSA_INVALID_REQUEST"
    assert caught.value.fields == ("detailDescriptionFlag",)
    assert fake_cw.requests == []


@pytest.mark.parametrize(
    ("ticket", "start", "hours", "field"),
    [
        ("abc", datetime(2025, 2, 3, 10, tzinfo=UTC), 1.0, "chargeToId"),
        ("-4", datetime(2025, 2, 3, 10, tzinfo=UTC), 1.0, "chargeToId"),
        ("100", datetime(2025, 2, 3, 10), 1.0, "timeStart"),
        ("100", datetime(2025, 2, 3, 12, tzinfo=UTC), 1.0, "timeEnd"),
        ("100", datetime(2025, 2, 3, 10, tzinfo=UTC), -0.5, "actualHours"),
        ("100", datetime(2025, 2, 3, 10, tzinfo=UTC), float("nan"), "actualHours"),
    ],
)
async def test_bad_time_entries_are_refused_before_sending(
    provider: ConnectWiseProvider,
    fake_cw: FakeConnectWise,
    ticket: str,
    start: datetime,
    hours: float,
    field: str,
) -> None:
    end = datetime(2025, 2, 3, 11, tzinfo=UTC)
    with pytest.raises(PsaValidationError) as caught:
        await provider.push_time_entry(ticket, 42, start, end, hours, "x")
    assert caught.value.fields == (field,)
    assert fake_cw.requests == []


# -- error mapping ---------------------------------------------------------------------


async def test_wrong_private_key_is_an_auth_error_without_the_key(
    fake_cw: FakeConnectWise, http_client: httpx.AsyncClient, sleeper: RecordingSleep
) -> None:
    wrong = ConnectWiseCredentials(
        site="x", codebase="", company_id=fake_cw.company_id, public_key=fake_cw.public_key,
        private_key="wrong-PRIVATE-key-42", client_id=fake_cw.client_id,
    )  # fmt: skip
    bad = ConnectWiseProvider(wrong, client=http_client, base_url=fake_cw.api_url, sleep=sleeper)
    with pytest.raises(PsaAuthError) as caught:
        await bad.push_ticket_note("100", "x", internal_analysis=True)
    error = caught.value
    assert (error.code, error.status) == ("PSA_AUTH_FAILED", 401)
    assert str(error) == "ConnectWise refused the API keys"  # fixed, not the remote body
    assert error.detail is not None and "Incorrect public/private key" in error.detail
    assert error.request_id == fake_cw.requests[0].request_id
    token = wrong.authorization_header()
    for text in (str(error), repr(error), repr(bad), str(error.extensions)):
        assert "wrong-PRIVATE-key-42" not in text
        assert token.removeprefix("Basic ") not in text
    assert sleeper.delays == []  # auth failures are not retried


async def test_missing_client_id_is_an_auth_error(
    fake_cw: FakeConnectWise, http_client: httpx.AsyncClient
) -> None:
    other = ConnectWiseCredentials(
        site="x", codebase="", company_id=fake_cw.company_id, public_key=fake_cw.public_key,
        private_key=fake_cw.private_key, client_id="not-registered",
    )  # fmt: skip
    bad = ConnectWiseProvider(other, client=http_client, base_url=fake_cw.api_url)
    with pytest.raises(PsaAuthError) as caught:
        await bad.update_ticket_status("100", 17)
    assert caught.value.detail is not None and "clientId" in caught.value.detail


@pytest.mark.parametrize(
    "answer",
    [
        cw_error(403, "Forbidden", "You do not have access"),
        cw_error(400, "Security", "API member lacks Service Tickets add rights"),
    ],
)
async def test_forbidden(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise, answer: Scripted
) -> None:
    fake_cw.script(answer)
    with pytest.raises(PsaForbiddenError) as caught:
        await provider.push_ticket_note("100", "x", internal_analysis=True)
    assert caught.value.code == "PSA_FORBIDDEN"
    assert caught.value.status == answer.status
    assert len(fake_cw.requests) == 1


async def test_unknown_ticket_is_not_found(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise
) -> None:
    with pytest.raises(PsaNotFoundError) as caught:
        await provider.update_ticket_status("999", 17)
    assert (caught.value.code, caught.value.status, caught.value.psa_code) == (
        "PSA_NOT_FOUND",
        404,
        "NotFound",
    )
    assert caught.value.message == "the ConnectWise record was not found"
    assert caught.value.detail is not None and "Ticket 999 not found" in caught.value.detail


async def test_status_from_another_board_is_a_validation_error_on_status_id(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise, sleeper: RecordingSleep
) -> None:
    with pytest.raises(PsaValidationError) as caught:
        await provider.update_ticket_status("200", 564)  # ticket 200's board has 30, 31
    error = caught.value
    assert error.code == "PSA_INVALID_REQUEST"
    assert error.psa_code == "InvalidObject"
    assert error.fields == ("status/id",)
    assert error.errors[0].resource == "Ticket"
    assert error.extensions["fields"][0]["field"] == "status/id"
    assert fake_cw.tickets[200].status_id == 30
    assert sleeper.delays == []


async def test_connectwise_validation_errors_keep_every_field(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise
) -> None:
    fake_cw.script(
        cw_error(
            400, "InvalidObject", "TimeEntry object is invalid",
            [
                {"code": "MaxLengthField", "message": "too long", "resource": "TimeEntry",
                 "field": "notes"},
                {"code": "InvalidField", "message": "closed", "resource": "TimeEntry",
                 "field": "chargeToId"},
            ],
        )
    )  # fmt: skip
    start = datetime(2025, 2, 3, 10, tzinfo=UTC)
    with pytest.raises(PsaValidationError) as caught:
        await provider.push_time_entry("100", 42, start, start, 0.0, "x" * 10)
    assert caught.value.fields == ("notes", "chargeToId")
    assert [e.code for e in caught.value.errors] == ["MaxLengthField", "InvalidField"]


async def test_plain_500_on_a_post_is_an_unknown_outcome_sent_once(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise, sleeper: RecordingSleep
) -> None:
    fake_cw.script(cw_error(500, "UnexpectedServerError", "Object reference not set"))
    with pytest.raises(PsaOutcomeUnknownError) as caught:
        await provider.push_ticket_note("100", "x", internal_analysis=True)
    assert (caught.value.code, caught.value.status) == ("PSA_OUTCOME_UNKNOWN", 500)
    assert caught.value.extensions["cause"] == "PSA_UNAVAILABLE"
    assert len(fake_cw.requests) == 1
    assert sleeper.delays == []


async def test_gateway_errors_on_the_status_patch_are_retried_then_unavailable(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise, sleeper: RecordingSleep
) -> None:
    fake_cw.script(*[Scripted(status=502, body="<html>Bad gateway</html>")] * 4)
    with pytest.raises(PsaUnavailableError) as caught:
        await provider.update_ticket_status("100", 17, idempotency_key="k")
    assert caught.value.status == 502
    assert len(fake_cw.requests) == 4  # first attempt + max_retries=3
    assert sleeper.delays == [0.5, 1.0, 2.0]  # base 0.5 doubling, jitter pinned to max


async def test_server_side_timeout_500_on_the_status_patch_is_retried_once(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise, sleeper: RecordingSleep
) -> None:
    fake_cw.script(server_timeout())
    result = await provider.update_ticket_status("100", 17, idempotency_key="k")
    assert result.attempts == 2
    assert result.request_id == fake_cw.requests[1].request_id
    assert sleeper.delays == [0.5]


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        (Scripted(status=502, body="<html>Bad gateway</html>"), "PSA_UNAVAILABLE"),
        (cw_error(503, "ServiceUnavailable", "down"), "PSA_UNAVAILABLE"),
        (Scripted(status=504, body="<html>Gateway timeout</html>"), "PSA_UNAVAILABLE"),
        (server_timeout(), "PSA_UNAVAILABLE"),
        (slow(3.0), "PSA_TIMEOUT"),
    ],
    ids=["502", "503", "504", "500-timeout", "read-timeout"],
)
@pytest.mark.parametrize("push", ["time_entry", "note"])
async def test_a_post_that_may_have_arrived_is_sent_exactly_once(
    fake_cw: FakeConnectWise,
    credentials: ConnectWiseCredentials,
    http_client: httpx.AsyncClient,
    sleeper: RecordingSleep,
    answer: Scripted,
    cause: str,
    push: str,
) -> None:
    fake_cw.script(answer, answer, answer)
    impatient = _impatient(fake_cw, credentials, http_client, sleeper, max_retries=2)
    start = datetime(2025, 2, 3, 10, tzinfo=UTC)
    with pytest.raises(PsaOutcomeUnknownError) as caught:
        if push == "note":
            await impatient.push_ticket_note("100", "x", internal_analysis=True)
        else:
            await impatient.push_time_entry("100", 42, start, start + timedelta(hours=1), 1, "x")
    assert caught.value.code == "PSA_OUTCOME_UNKNOWN"
    assert caught.value.cause == cause
    assert [r.method for r in fake_cw.requests] == ["POST"]
    assert sleeper.delays == []


# -- rate limiting -----------------------------------------------------------------------


async def test_429_twice_then_success_honours_retry_after(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise, sleeper: RecordingSleep
) -> None:
    fake_cw.script(rate_limited("2"), rate_limited("2"))
    start = datetime(2025, 2, 3, 10, tzinfo=UTC)
    result = await provider.push_time_entry("100", 42, start, start + timedelta(hours=1), 1, "x")
    assert result.attempts == 3
    assert len(fake_cw.requests) == 3
    assert sleeper.delays == [2.0, 2.0]
    assert result.external_id == "1001"
    assert fake_cw.requests[0].body == fake_cw.requests[2].body


async def test_429_without_retry_after_backs_off_exponentially(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise, sleeper: RecordingSleep
) -> None:
    fake_cw.script(rate_limited(None), rate_limited(None))
    result = await provider.update_ticket_status("100", 17, idempotency_key="k")
    assert result.attempts == 3
    assert sleeper.delays == [0.5, 1.0]


async def test_429_exhausting_retries_is_rate_limited(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise, sleeper: RecordingSleep
) -> None:
    fake_cw.script(*[rate_limited("7")] * 4, rate_limited("1"))
    with pytest.raises(PsaRateLimitedError) as caught:
        await provider.push_ticket_note("100", "x", internal_analysis=True)
    error = caught.value
    assert (error.code, error.status, error.retry_after) == ("PSA_RATE_LIMITED", 429, 7.0)
    assert error.extensions == {
        "code": "PSA_RATE_LIMITED",
        "psaRequestId": fake_cw.requests[3].request_id,
        "retryAfter": 7.0,
    }
    assert len(fake_cw.requests) == 4
    assert sleeper.delays == [7.0, 7.0, 7.0]


async def test_429_with_a_long_retry_after_is_not_waited_out(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise, sleeper: RecordingSleep
) -> None:
    fake_cw.script(rate_limited("3600"))
    with pytest.raises(PsaRateLimitedError) as caught:
        await provider.push_ticket_note("100", "x", internal_analysis=True)
    assert caught.value.retry_after == 3600.0
    assert len(fake_cw.requests) == 1
    assert sleeper.delays == []


# -- client-side timeouts and transport failures ------------------------------------------

# Far above a local answer even on a busy machine, far below the fake's slow(3.0) answers.
IMPATIENT_TIMEOUT_S = 1.0


def _impatient(
    fake_cw: FakeConnectWise,
    credentials: ConnectWiseCredentials,
    client: httpx.AsyncClient,
    sleeper: RecordingSleep,
    max_retries: int,
) -> ConnectWiseProvider:
    return ConnectWiseProvider(
        credentials,
        client=client,
        base_url=fake_cw.api_url,
        timeout=IMPATIENT_TIMEOUT_S,
        retry_policy=RetryPolicy(max_retries=max_retries, backoff_base=0.1, sleep=sleeper),
    )


async def test_no_answer_in_time_to_the_status_patch_is_a_timeout_after_retries(
    fake_cw: FakeConnectWise,
    credentials: ConnectWiseCredentials,
    http_client: httpx.AsyncClient,
    sleeper: RecordingSleep,
) -> None:
    fake_cw.script(slow(3.0), slow(3.0))
    impatient = _impatient(fake_cw, credentials, http_client, sleeper, max_retries=1)
    with pytest.raises(PsaTimeoutError) as caught:
        await impatient.update_ticket_status("100", 17, idempotency_key="k")
    assert caught.value.code == "PSA_TIMEOUT"
    assert "2 attempts" in caught.value.message
    assert len(fake_cw.requests) == 2
    assert len(sleeper.delays) == 1


async def test_timeout_then_success(
    fake_cw: FakeConnectWise,
    credentials: ConnectWiseCredentials,
    http_client: httpx.AsyncClient,
    sleeper: RecordingSleep,
) -> None:
    fake_cw.script(slow(3.0))
    impatient = _impatient(fake_cw, credentials, http_client, sleeper, max_retries=2)
    result = await impatient.update_ticket_status("100", 564, idempotency_key="outbox-1")
    assert result.attempts == 2
    assert result.external_id == "100:status:564:outbox-1"


async def test_nothing_listening_is_retried_even_for_a_post_then_unavailable(
    credentials: ConnectWiseCredentials, http_client: httpx.AsyncClient, sleeper: RecordingSleep
) -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago and is closed now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = ConnectWiseProvider(
        credentials,
        client=http_client,
        base_url=f"http://127.0.0.1:{port}/v4_6_release/apis/3.0",
        max_retries=2,
        sleep=sleeper,
    )
    with pytest.raises(PsaUnavailableError, match="unreachable"):
        await dead.push_ticket_note("100", "x", internal_analysis=True)
    assert len(sleeper.delays) == 2


# -- secrets stay out of errors and logs ---------------------------------------------------


async def test_echoed_secrets_are_scrubbed_from_errors_and_logs(
    provider: ConnectWiseProvider,
    fake_cw: FakeConnectWise,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = EXPECTED_AUTH.removeprefix("Basic ")
    fake_cw.script(
        cw_error(
            400, "InvalidObject", f"bad header {EXPECTED_AUTH} for {fake_cw.private_key}",
            [{"code": "InvalidField", "message": f"key {fake_cw.private_key}", "field": "x"}],
        )
    )  # fmt: skip
    caplog.set_level("DEBUG", logger="psa")
    with pytest.raises(PsaValidationError) as caught:
        await provider.push_ticket_note("100", "x", internal_analysis=True)
    error = caught.value
    texts = [str(error), repr(error), str(error.extensions), repr(error.errors), caplog.text]
    for text in texts:
        assert fake_cw.private_key not in text
        assert token not in text
    assert str(error) == "ConnectWise refused the request (400)"
    assert "bad header *** for ***" in caplog.text  # the scrubbed remote text is logged
    assert fake_cw.requests[0].request_id in caplog.text  # the request id is logged


async def test_successful_push_logs_request_id_not_keys(
    provider: ConnectWiseProvider, fake_cw: FakeConnectWise, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="psa")
    await provider.push_ticket_note("100", "x", internal_analysis=True)
    assert f"request_id={fake_cw.requests[0].request_id}" in caplog.text
    assert "host=127.0.0.1" in caplog.text  # the log names where the push went
    assert fake_cw.private_key not in caplog.text
    assert EXPECTED_AUTH.removeprefix("Basic ") not in caplog.text
