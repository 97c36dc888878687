"""Shared helpers for the tab tests: a fixed 'now', local midnights and a caller per account.

Expected values in the tests are computed by hand from each test's own fixture; these
helpers only place rows in time and send queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import AccountBuilder
from tests.graphql_client import ApiClient, token_for


def utc_now() -> datetime:
    return datetime.now(UTC)


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def local_midnight(day: date, timezone: str) -> datetime:
    """Midnight starting `day` in `timezone`, as an aware datetime in that zone's offset."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone))


def safely_in_today(now: datetime, timezone: str) -> datetime:
    """An instant of today (local) at least an hour before `now`, or else a day earlier.

    Near local midnight "today" has less than an hour behind it; the tests then use
    yesterday noon, still inside every period.
    """
    start = local_midnight(local_today(now, timezone), timezone)
    candidate = now - timedelta(hours=1)
    return candidate if candidate >= start else start - timedelta(hours=12)


@dataclass
class Tenant:
    """An account's builder plus a team_admin token for it."""

    builder: AccountBuilder
    token: str

    @property
    def account_id(self) -> Any:
        return self.builder.account_id

    async def query(self, api: ApiClient, query: str, **variables: Any) -> dict[str, Any]:
        return await api.data(query, variables or None, token=self.token)


async def new_tenant(
    sessionmaker: async_sessionmaker[AsyncSession], timezone: str = "UTC"
) -> Tenant:
    builder = await AccountBuilder.create(sessionmaker, timezone=timezone)
    return Tenant(builder, token_for(builder.account_id, "team_admin"))
