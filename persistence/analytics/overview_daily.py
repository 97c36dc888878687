"""The Overview chart: session counts per local calendar day of a window."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from core.metrics.window import Window
from persistence.analytics.filters import EPOCH, day_number
from persistence.reader import Reader


@dataclass(frozen=True, slots=True)
class OverviewDay:
    """Sessions started on one local day; the MTTR parts are kept so days add up."""

    day: date
    sessions: int = 0
    resolved: int = 0
    escalated: int = 0
    resolution_minutes_sum: float = 0.0
    resolution_minutes_count: int = 0


# A session belongs to the local day it started on, as in the totals: the level-0
# (one-day) rollup blocks of the window, summed over domains.
_DAILY = """
    SELECT r.block AS day_number,
           sum(r.sessions) AS sessions,
           sum(r.resolved) AS resolved,
           sum(r.escalated) AS escalated,
           sum(r.resolution_minutes) AS resolution_minutes_sum,
           sum(r.resolution_count) AS resolution_minutes_count
    FROM rollup_session_blocks r
    WHERE r.account_id = :account_id AND r.level = 0 AND r.block >= :first AND r.block <= :last
    GROUP BY r.block
    HAVING sum(r.sessions) > 0
"""


async def overview_daily(
    reader: Reader, account_id: uuid.UUID, window: Window
) -> list[OverviewDay]:
    """One point per local day of the window, oldest first, zero days included."""
    params = {
        "account_id": account_id,
        "first": day_number(window.first_day),
        "last": day_number(window.last_day),
    }
    found: dict[date, OverviewDay] = {}
    for number, sessions, resolved, escalated, minutes, minutes_count in await reader.rows(
        _DAILY, params
    ):
        day = EPOCH + timedelta(days=number)
        found[day] = OverviewDay(day, sessions, resolved, escalated, float(minutes), minutes_count)
    return [found.get(day, OverviewDay(day)) for day in window.days]
