"""Flow Quality's ordered lists, ranked in PostgreSQL.

One statement scores every non-archived flow of a window and returns only the rows the
tab asks for (each list's page, in order) plus the lists' lengths, so a large account's
flows never travel to Python. The score repeats `formulas.recency_score` and
`formulas.quality_score` in float8 with the same operations in the same order, so it is
bit-identical to the Python value and both order flows the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from core.metrics import formulas
from core.metrics.flow_ranking import FlowSort
from core.metrics.rows import FlowPeriodStats, FlowRow
from core.metrics.window import Window
from persistence.analytics.filters import BLOCKS_IN_WINDOW, block_params
from persistence.analytics.flows import (
    ALL_WITH_STATS_FROM,
    AVG_CONFIDENCE,
    FLOW_COLUMNS,
    flow_row,
    flow_stats,
)
from persistence.reader import Reader


class FlowFilter(Enum):
    """Which flows a list draws from."""

    ALL = "TRUE"
    USED = "usage >= 1"
    FLAGGED = "flagged"


# The value each sort orders a list by (NULL sorts last in both directions).
_SORT_VALUE = {
    FlowSort.QUALITY: "quality",
    FlowSort.USAGE: "usage::float8",
    FlowSort.SUCCESS_RATE: "success_rate_now",
}


@dataclass(frozen=True, slots=True)
class FlowPick:
    """One ordered list: `first` flows (all when None) after `offset`, ties by name then id."""

    where: FlowFilter
    sort: FlowSort
    descending: bool
    first: int | None
    offset: int = 0


@dataclass(frozen=True, slots=True)
class PickedFlows:
    """A list's rows in order and how many flows its filter matches in all."""

    rows: list[tuple[FlowRow, FlowPeriodStats]]
    total: int


# formulas.recency_score's float operations on the exact microseconds since the last
# match (seconds, days, 1 - days / 90, clamped), without numeric arithmetic per flow.
# Matched at or before the horizon's start (90 days or more ago) the clamp gives 0, and at
# or after `now` it gives 1, so both are decided by exact timestamp comparisons. Between
# them the float8 epoch of the interval is within a nanosecond of the exact seconds
# (under 2^23 of them), so rounding it times 10^6 recovers the exact microseconds, a whole
# float8 below 2^43, as `::float8` of the bigint did; Python divides the same exact
# integer, so the score stays bit-identical. Stale (30 days or more) is a timestamp
# comparison with `now - STALE_AFTER`, exact to the microsecond.
_SCORED = f"""
    SELECT f.*,
           float8 '0.5' * coalesce(f.success_rate_now, float8 '0')
             + float8 '0.3' * coalesce(f.guided_rate_now, float8 '0')
             + float8 '0.2' * f.recency AS quality,
           coalesce(f.success_rate_now < float8 '0.5', false) OR f.stale AS flagged
    FROM (
        SELECT m.*,
               m.resolved::float8 / nullif(m.usage, 0)::float8 AS success_rate_now,
               m.guided::float8 / nullif(m.usage, 0)::float8 AS guided_rate_now,
               CASE WHEN m.last_matched_at IS NULL
                         OR m.last_matched_at <= CAST(:horizon_start AS timestamptz)
                    THEN float8 '0'
                    WHEN m.last_matched_at >= CAST(:now AS timestamptz) THEN float8 '1'
                    ELSE least(float8 '1', greatest(float8 '0', float8 '1'
                         - round(date_part('epoch', CAST(:now AS timestamptz) - m.last_matched_at)
                                 * float8 '1000000')
                           / float8 '1000000' / float8 '86400'
                         / float8 '{formulas.RECENCY_HORIZON_DAYS}'))
               END AS recency,
               m.last_matched_at IS NULL
                 OR m.last_matched_at <= CAST(:stale_before AS timestamptz) AS stale
        FROM (
            SELECT {FLOW_COLUMNS}, coalesce(st.usage, 0) AS usage,
                   coalesce(st.resolved, 0) AS resolved, coalesce(st.guided, 0) AS guided,
                   st.avg_confidence
            {ALL_WITH_STATS_FROM}
        ) m
    ) f
"""
# What the lists order and filter by: narrow rows, so scoring a large account stays cheap.
_RANKED_COLUMNS = "id, name, usage, resolved, guided, success_rate_now, quality, flagged"
_COUNTS = (
    "SELECT -1 AS pick, NULL::boolean AS missing, NULL::float8 AS sort_value,"
    " NULL::uuid AS id, NULL::text AS name, NULL::bigint AS usage, NULL::bigint AS resolved,"
    " NULL::bigint AS guided, count(*) AS all_flows,"
    " count(*) FILTER (WHERE usage >= 1) AS used_flows,"
    " count(*) FILTER (WHERE flagged) AS flagged_flows FROM scored"
)
# The returned rows only: their flow columns, and their average confidence from the
# same block rows and expression as PERIOD_STATS (index look-ups by flow id).
_PICKED_ROWS = f"""
    SELECT p.pick, p.missing, p.sort_value, {FLOW_COLUMNS}, p.usage, p.resolved, p.guided,
           c.avg_confidence, p.all_flows, p.used_flows, p.flagged_flows
    FROM picked p
    LEFT JOIN trees t ON t.id = p.id AND t.account_id = :account_id
    LEFT JOIN LATERAL (
        SELECT {AVG_CONFIDENCE} AS avg_confidence
        FROM rollup_flow_blocks r JOIN {BLOCKS_IN_WINDOW}
        WHERE r.flow_id = p.id HAVING sum(r.usage) > 0
    ) c ON true
    ORDER BY p.pick, p.missing, p.sort_value, p.name COLLATE "C", p.id
"""
_TOTALS = {FlowFilter.ALL: 0, FlowFilter.USED: 1, FlowFilter.FLAGGED: 2}
_HEAD = 3  # pick, missing, sort_value
_FLOW_END = _HEAD + 8
_STATS_END = _FLOW_END + 4


def _pick_sql(index: int, pick: FlowPick) -> str:
    """The pick's rows with a uniform ascending sort key (negated when descending)."""
    value = _SORT_VALUE[pick.sort]
    key = f"-({value})" if pick.descending else f"({value})"
    return (
        f"(SELECT {index}, ({value}) IS NULL, {key}, id, name, usage, resolved, guided,"
        f" NULL, NULL, NULL FROM scored WHERE {pick.where.value}"
        f' ORDER BY 2, 3, name COLLATE "C", id'
        f" LIMIT CAST(:first_{index} AS integer) OFFSET CAST(:offset_{index} AS integer))"
    )


def ranking_statement(picks: Sequence[FlowPick]) -> str:
    """The counts row, then every pick's rows, ordered by pick then the pick's order."""
    parts = [_COUNTS, *(_pick_sql(index, pick) for index, pick in enumerate(picks))]
    union = "\nUNION ALL\n".join(parts)
    return (
        f"WITH scored AS MATERIALIZED (SELECT {_RANKED_COLUMNS} FROM ({_SCORED}) s),\n"
        f"picked AS MATERIALIZED ({union})\n"
        f"{_PICKED_ROWS}"
    )


def _params(
    account_id: uuid.UUID, window: Window, now: datetime, picks: Sequence[FlowPick]
) -> dict[str, Any]:
    params: dict[str, Any] = {
        **block_params(account_id, window),
        "now": now,
        "stale_before": now - formulas.STALE_AFTER,
        "horizon_start": now - timedelta(days=formulas.RECENCY_HORIZON_DAYS),
    }
    for index, pick in enumerate(picks):
        params[f"first_{index}"] = pick.first
        params[f"offset_{index}"] = pick.offset
    return params


async def rank_flows(
    reader: Reader,
    account_id: uuid.UUID,
    window: Window,
    now: datetime,
    picks: Sequence[FlowPick],
) -> list[PickedFlows]:
    """Each pick's rows in its order, with its filter's total, scored at `now`."""
    result = await reader.rows(ranking_statement(picks), _params(account_id, window, now, picks))
    totals = [0, 0, 0]
    rows: list[list[tuple[FlowRow, FlowPeriodStats]]] = [[] for _ in picks]
    for row in result:
        if row[0] < 0:
            totals = [int(count) for count in row[_STATS_END:]]
            continue
        flow, stats = flow_row(row[_HEAD:_FLOW_END]), flow_stats(row[_FLOW_END:_STATS_END])
        rows[row[0]].append((flow, stats))
    return [
        PickedFlows(rows=picked, total=totals[_TOTALS[pick.where]])
        for pick, picked in zip(picks, rows, strict=True)
    ]


async def scores_at(
    reader: Reader, account_id: uuid.UUID, window: Window, now: datetime
) -> dict[uuid.UUID, tuple[float, bool]]:
    """Every flow's SQL quality score and attention flag, to check them against Python's."""
    statement = f"WITH scored AS ({_SCORED}) SELECT id, quality, flagged FROM scored"
    result = await reader.rows(statement, _params(account_id, window, now, []))
    return {row[0]: (row[1], row[2]) for row in result}
