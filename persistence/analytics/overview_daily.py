"""The Overview chart: session counts per local calendar day of a window."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.analytics.filters import SESSIONS_IN_WINDOW, window_params
from persistence.analytics.window import Window


@dataclass(frozen=True, slots=True)
class OverviewDay:
    """Sessions started on one local day; the MTTR parts are kept so days add up."""

    day: date
    sessions: int = 0
    resolved: int = 0
    escalated: int = 0
    resolution_minutes_sum: float = 0.0
    resolution_minutes_count: int = 0


# A session belongs to the local day it started on, as in the totals.
_DAILY = text(
    f"""
    SELECT (s.started_at AT TIME ZONE :timezone)::date AS day,
           count(*) AS sessions,
           count(*) FILTER (WHERE s.status = 'resolved') AS resolved,
           count(*) FILTER (WHERE s.status = 'escalated') AS escalated,
           coalesce(sum(extract(epoch FROM s.resolved_at - s.started_at) / 60)
               FILTER (WHERE s.status = 'resolved' AND s.resolved_at IS NOT NULL), 0)
               AS resolution_minutes_sum,
           count(*) FILTER (WHERE s.status = 'resolved' AND s.resolved_at IS NOT NULL)
               AS resolution_minutes_count
    FROM ai_sessions s
    WHERE {SESSIONS_IN_WINDOW}
    GROUP BY 1
    """
)


async def overview_daily(
    session: AsyncSession, account_id: uuid.UUID, window: Window
) -> list[OverviewDay]:
    """One point per local day of the window, oldest first, zero days included."""
    params = {**window_params(account_id, window), "timezone": window.zone.key}
    found = {
        row.day: OverviewDay(
            day=row.day,
            sessions=row.sessions,
            resolved=row.resolved,
            escalated=row.escalated,
            resolution_minutes_sum=float(row.resolution_minutes_sum),
            resolution_minutes_count=row.resolution_minutes_count,
        )
        for row in await session.execute(_DAILY, params)
    }
    return [found.get(day, OverviewDay(day)) for day in window.days]
