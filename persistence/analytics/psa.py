"""PSA activity over a window: totals, the push funnel and the daily trend."""

from __future__ import annotations

import uuid

from core.metrics.rows import PsaDay, PsaTotals, PushFunnelCounts
from core.metrics.window import Window
from persistence.analytics.filters import BLOCKS_IN_WINDOW, DAYS_IN_WINDOW, block_params
from persistence.reader import Reader

# Hours are summed as numeric so that the daily points add up to the total exactly.
# Distinct sessions with time entries: a session counts once, on the first of its
# time-entry days inside the window, i.e. the day whose previous one is before it.
_TOTALS = f"""
    SELECT coalesce(sum(r.time_entries), 0) AS time_entries,
           coalesce(sum(r.hours), 0) AS hours,
           (SELECT coalesce(sum(r.sessions), 0) FROM rollup_psa_time_chains r
            WHERE {DAYS_IN_WINDOW} AND r.prev_day < :first_day) AS sessions,
           coalesce(sum(r.notes), 0) AS notes,
           coalesce(sum(r.status_updates), 0) AS status_updates
    FROM rollup_psa_days r
    WHERE {DAYS_IN_WINDOW}
"""

_DAILY = f"""
    SELECT r.day, r.time_entries AS entries, r.hours
    FROM rollup_psa_days r
    WHERE {DAYS_IN_WINDOW} AND r.time_entries > 0
"""

# A cohort of the window's sessions (activities of any date), kept per block by triggers.
_FUNNEL = f"""
    SELECT coalesce(sum(r.sessions), 0) AS total,
           coalesce(sum(r.linked), 0) AS linked,
           coalesce(sum(r.doc_pushed), 0) AS doc_pushed,
           coalesce(sum(r.time_logged), 0) AS time_logged
    FROM rollup_session_blocks r JOIN {BLOCKS_IN_WINDOW}
"""


async def psa_totals(reader: Reader, account_id: uuid.UUID, window: Window) -> PsaTotals:
    (row,) = await reader.rows(_TOTALS, block_params(account_id, window))
    return PsaTotals(
        time_entries=row["time_entries"],
        hours=float(row["hours"]),
        sessions_with_time_entries=row["sessions"],
        notes=row["notes"],
        status_updates=row["status_updates"],
    )


async def psa_daily(reader: Reader, account_id: uuid.UUID, window: Window) -> list[PsaDay]:
    """One point per local day of the window, oldest first, zero days included."""
    params = block_params(account_id, window)
    found = {row["day"]: row for row in await reader.rows(_DAILY, params)}
    return [
        PsaDay(day, found[day]["entries"], float(found[day]["hours"]))
        if day in found
        else PsaDay(day, 0, 0.0)
        for day in window.days
    ]


async def push_funnel(reader: Reader, account_id: uuid.UUID, window: Window) -> PushFunnelCounts:
    (row,) = await reader.rows(_FUNNEL, block_params(account_id, window))
    return PushFunnelCounts(row["total"], row["linked"], row["doc_pushed"], row["time_logged"])
