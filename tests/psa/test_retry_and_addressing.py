"""Retry timing rules, base URL normalisation, datetime format and codebase discovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from psa.connectwise import api_base_url, discover_codebase, format_datetime, ticket_number
from psa.errors import PsaConfigurationError, PsaNotFoundError, PsaValidationError
from psa.retry import RetryPolicy, parse_retry_after
from tests.fakes.connectwise_server import FakeConnectWise

NOW = datetime(2025, 2, 3, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5", 5.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("Mon, 03 Feb 2025 10:00:30 GMT", 30.0),
        ("Mon, 03 Feb 2025 09:59:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_backoff_doubles_with_equal_jitter_and_is_capped() -> None:
    high = RetryPolicy(backoff_base=0.5, backoff_max=3.0, rand=lambda: 1.0)
    low = RetryPolicy(backoff_base=0.5, backoff_max=3.0, rand=lambda: 0.0)
    assert [high.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert [low.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.25, 0.5, 1.0, 1.5, 1.5]


def test_may_retry_counts_retries_after_the_first_attempt() -> None:
    policy = RetryPolicy(max_retries=2)
    assert [policy.may_retry(n) for n in (1, 2, 3)] == [True, True, False]
    assert RetryPolicy(max_retries=0).may_retry(1) is False


@pytest.mark.parametrize(
    ("site", "codebase"),
    [
        ("na.myconnectwise.net", "v4_6_release/"),
        ("https://na.myconnectwise.net/", "/v4_6_release"),
        (" na.myconnectwise.net ", "v4_6_release"),
    ],
)
def test_api_base_url_normalises_slashes(site: str, codebase: str) -> None:
    assert api_base_url(site, codebase) == "https://na.myconnectwise.net/v4_6_release/apis/3.0/"


def test_format_datetime_converts_to_utc_and_drops_fractions() -> None:
    eastern = timezone(timedelta(hours=-5))
    value = datetime(2025, 12, 31, 21, 30, 15, 999999, tzinfo=eastern)
    assert format_datetime(value, "timeStart") == "2026-01-01T02:30:15Z"


def test_ticket_number() -> None:
    assert ticket_number(" 1234 ") == 1234
    assert ticket_number(77) == 77
    for bad in ("0", "12a", "١٢", ""):
        with pytest.raises(PsaValidationError):
            ticket_number(bad)


async def test_discover_codebase(fake_cw: FakeConnectWise, http_client: httpx.AsyncClient) -> None:
    found = await discover_codebase(
        "na.myconnectwise.net", fake_cw.company_id, client=http_client, base_url=fake_cw.base_url
    )
    assert found == "v4_6_release/"
    with pytest.raises(PsaNotFoundError):
        await discover_codebase(
            "na.myconnectwise.net", "nobody", client=http_client, base_url=fake_cw.base_url
        )


async def test_discover_codebase_only_asks_allowed_hosts(http_client: httpx.AsyncClient) -> None:
    with pytest.raises(PsaConfigurationError):
        await discover_codebase("127.0.0.1:8080/x?", "acme", client=http_client)
