"""Token claims a forger controls: every failure is UNAUTHENTICATED with a plain message."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tests.graphql_client import TEST_JWT_SECRET, ApiClient

QUERY = "{ overview { sessionCount } }"


def _token(**changes: object) -> str:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "account_id": str(uuid.uuid4()),
        "role": "team_admin",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    claims.update(changes)
    return jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")


async def _refusal(api: ApiClient, token: str) -> dict[str, object]:
    response = await api.post(QUERY, token=token)
    assert response.status_code == 401, response.text  # token refresh code waits for a 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    errors = response.json()["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["UNAUTHENTICATED"]
    error: dict[str, object] = errors[0]
    return error


def _now() -> int:
    return int(datetime.now(UTC).timestamp())


@pytest.mark.parametrize(
    ("case", "claims", "message"),
    [
        ("iat far in the past", {"iat": -1e15}, "token lifetime exceeds"),
        ("exp in year 9999", {"exp": 253402300799}, "token lifetime exceeds"),
        ("no iat, exp in year 9999", {"iat": None, "exp": 253402300799}, "lifetime exceeds"),
        ("iat beyond the skew", {"iat": _now() + 3600}, "not valid yet"),
        ("iat not a number", {"iat": "yesterday"}, "invalid token"),
    ],
)
async def test_claims_out_of_range_are_unauthenticated(
    api: ApiClient, case: str, claims: dict[str, object], message: str
) -> None:
    changes = {key: value for key, value in claims.items() if value is not None}
    token = _token(**changes)
    if "iat" in claims and claims["iat"] is None:
        payload = jwt.decode(token, options={"verify_signature": False})
        payload.pop("iat")
        token = jwt.encode(payload, TEST_JWT_SECRET, algorithm="HS256")
    error = await _refusal(api, token)
    assert message in str(error["message"])


async def test_issue_time_within_the_clock_skew_is_accepted(api: ApiClient) -> None:
    body = await api.execute(QUERY, token=_token(iat=_now() + 120))
    assert "errors" not in body, body


async def test_garbage_token_says_invalid_token_and_logs_the_detail(
    api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    garbage = "eyJhbGciOiJIUzI1NiJ9.t7c.abc"  # a header, then a payload that is not base64 JSON
    with caplog.at_level(logging.INFO, logger="flowpilot.auth"):
        error = await _refusal(api, garbage)
    assert error["message"] == "invalid token"
    assert any("token refused" in record.getMessage() for record in caplog.records)
    assert all(garbage not in record.getMessage() for record in caplog.records)


async def test_undecodable_header_says_invalid_token(api: ApiClient) -> None:
    error = await _refusal(api, "t7c.eyJ9.abc")
    assert error["message"] == "invalid token"
