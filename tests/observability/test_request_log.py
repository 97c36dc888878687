"""One JSON log line per request, with ids and counts only; the request id ties it together.
The lines are formatted here as the service prints them (service/observability/log_format.py)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.observability.log_format import JsonLines
from tests.factories import AccountBuilder
from tests.graphql_client import ApiClient, token_for


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(JsonLines())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def find(self, request_id: str) -> dict[str, Any]:
        (line,) = [line for line in self.lines if request_id in line]
        parsed: dict[str, Any] = json.loads(line)
        return parsed


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("flowpilot.requests")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


async def test_log_line_has_the_fields_and_no_token(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession], lines: Lines
) -> None:
    account = await AccountBuilder.create(sessionmaker)
    token = token_for(account.account_id)
    request_id = f"req-{uuid.uuid4().hex}"
    query = "query LoggedOverview { overview(period: LAST_7_DAYS) { sessionCount } }"
    response = await api.post(query, token=token, headers={"X-Request-ID": request_id})
    assert response.status_code == 200 and "errors" not in response.json()
    assert response.headers["x-request-id"] == request_id

    line = lines.find(request_id)
    assert line["request_id"] == request_id
    assert (line["level"], line["logger"], line["message"]) == (
        "INFO",
        "flowpilot.requests",
        "request",
    )
    assert line["timestamp"].endswith("+00:00")
    assert line["account_id"] == str(account.account_id)
    assert line["operation"] == "LoggedOverview"
    assert line["result"] == "ok" and line["error_codes"] == []
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert line["sql_statements"] >= 1
    raw = next(text for text in lines.lines if request_id in text)
    assert token not in raw and "Bearer" not in raw and "authorization" not in raw.lower()


async def test_statement_count_is_per_request(
    api: ApiClient, sessionmaker: async_sessionmaker[AsyncSession], lines: Lines
) -> None:
    account = await AccountBuilder.create(sessionmaker)
    token = token_for(account.account_id)
    query = "query Counted { overview(period: LAST_7_DAYS) { sessionCount } }"
    ids = [f"req-{uuid.uuid4().hex}" for _ in range(3)]
    await api.post(query, token=token, headers={"X-Request-ID": ids[0]})
    await api.post(query, token=token, headers={"X-Request-ID": ids[1]})
    await api.post(query, headers={"X-Request-ID": ids[2]})  # refused before any SQL
    first, second, refused = (lines.find(i) for i in ids)
    assert first["sql_statements"] == second["sql_statements"] >= 1
    assert refused["sql_statements"] == 0
    assert refused["result"] == "error" and refused["error_codes"] == ["UNAUTHENTICATED"]
    assert refused["account_id"] is None


async def test_request_id_in_header_and_error_extensions(api: ApiClient, lines: Lines) -> None:
    response = await api.post("query NoToken { overview { sessionCount } }")
    request_id = response.headers["x-request-id"]
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["extensions"]["requestId"] == request_id
    assert lines.find(request_id)["operation"] is None  # an anonymous text is never parsed
