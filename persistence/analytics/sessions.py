"""Session counts over a window: the overview totals and per-domain statistics (from rollups)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from core.metrics.rows import SessionCounts
from core.metrics.window import Window
from persistence.analytics.filters import BLOCKS_IN_WINDOW, block_params
from persistence.reader import Reader

# Sums of the rollup rows of the window's blocks; every count is exact.
COUNT_COLUMNS = (
    "sessions",
    "resolved",
    "escalated",
    "guided",
    "exploring",
    "discovery",
    "resolution_minutes_sum",
    "resolution_minutes_count",
    "rating_sum",
    "rating_count",
)
COUNTS = """
    coalesce(sum(r.sessions), 0) AS sessions,
    coalesce(sum(r.resolved), 0) AS resolved,
    coalesce(sum(r.escalated), 0) AS escalated,
    coalesce(sum(r.guided), 0) AS guided,
    coalesce(sum(r.exploring), 0) AS exploring,
    coalesce(sum(r.discovery), 0) AS discovery,
    coalesce(sum(r.resolution_minutes), 0) AS resolution_minutes_sum,
    coalesce(sum(r.resolution_count), 0) AS resolution_minutes_count,
    coalesce(sum(r.rating_sum), 0) AS rating_sum,
    coalesce(sum(r.rating_count), 0) AS rating_count
"""

_TOTALS = f"SELECT {COUNTS} FROM rollup_session_blocks r JOIN {BLOCKS_IN_WINDOW}"

# Each wanted domain key's rows and its aliases' rows (persistence.analytics.aliases),
# summed under the wanted key; one text whatever the aliases.
_BY_DOMAIN = f"""
    WITH wanted AS MATERIALIZED (
        SELECT k.key, k.key AS source FROM unnest(CAST(:keys AS text[])) AS k(key)
        UNION ALL
        SELECT a.target_key, a.alias_key FROM domain_aliases a
        WHERE a.account_id = :account_id AND a.target_key = ANY(CAST(:keys AS text[]))
    )
    SELECT wk.key, {COUNTS}
    FROM rollup_session_blocks r JOIN {BLOCKS_IN_WINDOW}
    JOIN wanted wk ON wk.source = r.domain_key
    WHERE r.domain_key IN (SELECT source FROM wanted)
    GROUP BY wk.key
    HAVING sum(r.sessions) > 0
"""


def counts_of_row(row: Any) -> SessionCounts:
    """SessionCounts from a row with the COUNT_COLUMNS."""
    return SessionCounts(
        sessions=row["sessions"],
        resolved=row["resolved"],
        escalated=row["escalated"],
        guided=row["guided"],
        exploring=row["exploring"],
        discovery=row["discovery"],
        resolution_minutes_sum=float(row["resolution_minutes_sum"]),
        resolution_minutes_count=row["resolution_minutes_count"],
        rating_sum=int(row["rating_sum"]),
        rating_count=row["rating_count"],
    )


async def session_totals(reader: Reader, account_id: uuid.UUID, window: Window) -> SessionCounts:
    """Counts over every FlowPilot session of the account in the window."""
    (row,) = await reader.rows(_TOTALS, block_params(account_id, window))
    return counts_of_row(row)


async def session_counts_by_domain(
    reader: Reader, account_id: uuid.UUID, window: Window, keys: Sequence[str]
) -> dict[str, SessionCounts]:
    """Counts per domain key (a domain's, no alias: its aliases' sessions count too); keys
    without sessions are absent from the result."""
    params = {**block_params(account_id, window), "keys": list(keys)}
    return {row["key"]: counts_of_row(row) for row in await reader.rows(_BY_DOMAIN, params)}
