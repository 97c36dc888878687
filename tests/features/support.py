"""Helpers for the feature tests: local days of a tenant and single-error responses."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.graphql_client import ApiClient


def at(day: date, timezone: str, hours: float = 12.0) -> datetime:
    """`hours` after local midnight starting `day` (wall clock, zones without midnight DST)."""
    midnight = datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone))
    return midnight + timedelta(hours=hours)


def today_in(timezone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


async def error_of(api: ApiClient, token: str, query: str, **variables: Any) -> dict[str, Any]:
    """The single error of a response whose data is null."""
    body = await api.execute(query, variables or None, token=token)
    assert len(body.get("errors", [])) == 1, body
    error: dict[str, Any] = body["errors"][0]
    return error
