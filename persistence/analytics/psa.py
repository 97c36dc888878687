"""PSA activity over a window: totals, the push funnel and the daily trend."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.analytics.filters import (
    ACTIVITIES_IN_WINDOW,
    SESSIONS_IN_WINDOW,
    window_params,
)
from persistence.analytics.rows import PsaDay, PsaTotals, PushFunnelCounts
from persistence.analytics.window import Window

# Hours are summed as numeric so that the daily points add up to the total exactly.
_TOTALS = text(
    f"""
    SELECT count(*) FILTER (WHERE p.activity_type = 'time_entry_posted') AS time_entries,
           coalesce(sum(p.hours_logged::numeric)
               FILTER (WHERE p.activity_type = 'time_entry_posted'), 0) AS hours,
           count(DISTINCT p.session_id)
               FILTER (WHERE p.activity_type = 'time_entry_posted') AS sessions,
           count(*) FILTER (WHERE p.activity_type = 'note_posted') AS notes,
           count(*) FILTER (WHERE p.activity_type = 'status_updated') AS status_updates
    FROM psa_activity_log p
    WHERE {ACTIVITIES_IN_WINDOW}
    """
)

_DAILY = text(
    f"""
    SELECT (p.created_at AT TIME ZONE :timezone)::date AS day,
           count(*) AS entries,
           coalesce(sum(p.hours_logged::numeric), 0) AS hours
    FROM psa_activity_log p
    WHERE {ACTIVITIES_IN_WINDOW} AND p.activity_type = 'time_entry_posted'
    GROUP BY 1
    """
)

# A cohort of the window's sessions; activities of any date count.
_FUNNEL = text(
    f"""
    WITH cohort AS (
        SELECT s.id, coalesce(btrim(s.psa_ticket_id), '') <> '' AS linked
        FROM ai_sessions s
        WHERE {SESSIONS_IN_WINDOW}
    ),
    pushed AS (
        SELECT p.session_id,
               bool_or(p.activity_type = 'note_posted') AS has_note,
               bool_or(p.activity_type = 'time_entry_posted') AS has_time
        FROM psa_activity_log p
        JOIN cohort c ON c.id = p.session_id AND c.linked
        WHERE p.account_id = :account_id
        GROUP BY p.session_id
    )
    SELECT count(*) AS total,
           count(*) FILTER (WHERE c.linked) AS linked,
           count(*) FILTER (WHERE c.linked AND p.has_note) AS doc_pushed,
           count(*) FILTER (WHERE c.linked AND p.has_note AND p.has_time) AS time_logged
    FROM cohort c
    LEFT JOIN pushed p ON p.session_id = c.id
    """
)


async def psa_totals(session: AsyncSession, account_id: uuid.UUID, window: Window) -> PsaTotals:
    row = (await session.execute(_TOTALS, window_params(account_id, window))).one()
    return PsaTotals(
        time_entries=row.time_entries,
        hours=float(row.hours),
        sessions_with_time_entries=row.sessions,
        notes=row.notes,
        status_updates=row.status_updates,
    )


async def psa_daily(session: AsyncSession, account_id: uuid.UUID, window: Window) -> list[PsaDay]:
    """One point per local day of the window, oldest first, zero days included."""
    params = {**window_params(account_id, window), "timezone": window.zone.key}
    found = {row.day: row for row in await session.execute(_DAILY, params)}
    return [
        PsaDay(day, found[day].entries, float(found[day].hours))
        if day in found
        else PsaDay(day, 0, 0.0)
        for day in window.days
    ]


async def push_funnel(
    session: AsyncSession, account_id: uuid.UUID, window: Window
) -> PushFunnelCounts:
    row = (await session.execute(_FUNNEL, window_params(account_id, window))).one()
    return PushFunnelCounts(row.total, row.linked, row.doc_pushed, row.time_logged)
