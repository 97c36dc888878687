"""Session counts over a window: the overview totals and per-domain statistics."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from persistence.analytics.filters import SESSIONS_IN_WINDOW, window_params
from persistence.analytics.keys import domain_key_sql
from persistence.analytics.rows import SessionCounts
from persistence.analytics.window import Window

_COUNTS = """
    count(*) AS sessions,
    count(*) FILTER (WHERE s.status = 'resolved') AS resolved,
    count(*) FILTER (WHERE s.status = 'escalated') AS escalated,
    count(*) FILTER (WHERE s.confidence_tier = 'guided') AS guided,
    count(*) FILTER (WHERE s.confidence_tier = 'exploring') AS exploring,
    count(*) FILTER (WHERE s.confidence_tier = 'discovery') AS discovery,
    coalesce(sum(extract(epoch FROM s.resolved_at - s.started_at) / 60)
        FILTER (WHERE s.status = 'resolved' AND s.resolved_at IS NOT NULL), 0)
        AS resolution_minutes_sum,
    count(*) FILTER (WHERE s.status = 'resolved' AND s.resolved_at IS NOT NULL)
        AS resolution_minutes_count,
    coalesce(sum(s.rating), 0) AS rating_sum,
    count(s.rating) AS rating_count
"""

_TOTALS = text(f"SELECT {_COUNTS} FROM ai_sessions s WHERE {SESSIONS_IN_WINDOW}")

_BY_DOMAIN = text(
    f"""
    SELECT d.key, {_COUNTS}
    FROM (SELECT {domain_key_sql("s.problem_domain")} AS key, s.*
          FROM ai_sessions s WHERE {SESSIONS_IN_WINDOW}) AS s
    JOIN unnest(:keys) AS d(key) ON d.key = s.key
    GROUP BY d.key
    """
).bindparams(bindparam("keys", type_=ARRAY(Text)))


def _counts(row: Any) -> SessionCounts:
    return SessionCounts(
        sessions=row.sessions,
        resolved=row.resolved,
        escalated=row.escalated,
        guided=row.guided,
        exploring=row.exploring,
        discovery=row.discovery,
        resolution_minutes_sum=float(row.resolution_minutes_sum),
        resolution_minutes_count=row.resolution_minutes_count,
        rating_sum=int(row.rating_sum),
        rating_count=row.rating_count,
    )


async def session_totals(
    session: AsyncSession, account_id: uuid.UUID, window: Window
) -> SessionCounts:
    """Counts over every FlowPilot session of the account in the window."""
    row = (await session.execute(_TOTALS, window_params(account_id, window))).one()
    return _counts(row)


async def session_counts_by_domain(
    session: AsyncSession, account_id: uuid.UUID, window: Window, keys: Sequence[str]
) -> dict[str, SessionCounts]:
    """Counts per domain key; keys without sessions are absent from the result."""
    params = {**window_params(account_id, window), "keys": list(keys)}
    result = await session.execute(_BY_DOMAIN, params)
    return {row.key: _counts(row) for row in result}
