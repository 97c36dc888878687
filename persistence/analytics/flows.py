"""Flows (non-archived trees) and the sessions matched to them in a window."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from core.metrics.keys import domain_key_sql
from core.metrics.rows import FlowPeriodStats, FlowRow
from core.metrics.window import Window
from persistence.analytics.aliases import mapped_key, source_keys
from persistence.analytics.filters import BLOCKS_IN_WINDOW, block_params
from persistence.reader import Reader

# The domain key of a flow, spelled as the flow indexes of revisions 0005 and 0006 are
# (an expression index: the planner uses it only for this very expression).
TREE_KEY = domain_key_sql("t.category")
# A flow's stored columns, and its domain: its category's key read through the account's
# aliases (a regular expression and a look-up, so computed only for rows returned).
_STORED_COLUMNS = (
    "t.id, t.name, t.category, t.status, t.usage_count, t.success_rate, t.last_matched_at"
)
FLOW_COLUMNS = f"{_STORED_COLUMNS}, {mapped_key(TREE_KEY)} AS domain_key"
_NOT_ARCHIVED = "t.account_id = :account_id AND t.status <> 'archived'"

_BY_IDS = (
    f"SELECT {FLOW_COLUMNS} FROM trees t WHERE {_NOT_ARCHIVED} AND t.id = ANY(CAST(:ids AS uuid[]))"
)

# The first `per_key` flows of each domain by name then id (all when per_key is NULL:
# LIMIT NULL is no limit): the first `per_key` of the domain's own key and of each key
# aliased to it, each read in order from ix_trees_account_category_key_name, merged. The
# domain key is computed on the few rows each key's look-up returns, not inside it: a plan
# that sorts a key's flows instead of reading them in order (PostgreSQL's generic plan
# did) would otherwise compute it for every flow of the key.
_PREVIEWS = f"""
    unnest(CAST(:keys AS text[])) WITH ORDINALITY AS k(key, position)
    CROSS JOIN LATERAL (
        SELECT m.*, {mapped_key(domain_key_sql("m.category"))} AS domain_key
        FROM {source_keys("k.key")} src
        CROSS JOIN LATERAL (
            SELECT {_STORED_COLUMNS} FROM trees t
            WHERE {_NOT_ARCHIVED} AND {TREE_KEY} = src.key
            ORDER BY t.name COLLATE "C", t.id
            LIMIT CAST(:per_key AS integer)
        ) m
        ORDER BY m.name COLLATE "C", m.id
        LIMIT CAST(:per_key AS integer)
    ) f
"""
_BY_DOMAIN_KEYS = f"SELECT f.*, k.key AS wanted FROM {_PREVIEWS} ORDER BY k.position"

AVG_CONFIDENCE = "(sum(r.confidence_sum) / NULLIF(sum(r.confidence_count), 0))::float8"
# Period statistics from the flow rollups of the window's blocks.
PERIOD_STATS = f"""
    SELECT r.flow_id, sum(r.usage) AS usage, sum(r.resolved) AS resolved,
           sum(r.guided) AS guided, {AVG_CONFIDENCE} AS avg_confidence
    FROM rollup_flow_blocks r JOIN {BLOCKS_IN_WINDOW}
"""

# The same previews as _BY_DOMAIN_KEYS with each flow's period statistics (zero usage and
# a NULL average without sessions, as FlowPeriodStats() has), in one statement.
_BY_DOMAIN_KEYS_WITH_STATS = f"""
    WITH previews AS MATERIALIZED (SELECT k.position, k.key AS wanted, f.* FROM {_PREVIEWS})
    SELECT p.id, p.name, p.category, p.status, p.usage_count, p.success_rate,
           p.last_matched_at, p.domain_key, coalesce(st.usage, 0) AS usage,
           coalesce(st.resolved, 0) AS resolved, coalesce(st.guided, 0) AS guided,
           st.avg_confidence, p.wanted
    FROM previews p
    LEFT JOIN ({PERIOD_STATS} WHERE r.flow_id IN (SELECT id FROM previews)
               GROUP BY r.flow_id HAVING sum(r.usage) > 0) st ON st.flow_id = p.id
    ORDER BY p.position, p.name COLLATE "C", p.id
"""

_STATS_BY_IDS = f"""
    SELECT st.flow_id AS id, st.usage, st.resolved, st.guided, st.avg_confidence
    FROM ({PERIOD_STATS} WHERE r.flow_id = ANY(CAST(:ids AS uuid[]))
          GROUP BY r.flow_id HAVING sum(r.usage) > 0) st
"""

# Every non-archived flow `t` with its period statistics `st` (NULL without sessions).
ALL_WITH_STATS_FROM = f"""
    FROM trees t
    LEFT JOIN ({PERIOD_STATS} GROUP BY r.flow_id HAVING sum(r.usage) > 0) st ON st.flow_id = t.id
    WHERE {_NOT_ARCHIVED}
"""

_ALL_WITH_STATS = f"""
    SELECT {FLOW_COLUMNS}, coalesce(st.usage, 0) AS usage, coalesce(st.resolved, 0) AS resolved,
           coalesce(st.guided, 0) AS guided, st.avg_confidence
    {ALL_WITH_STATS_FROM}
"""


# Rows are unpacked by position (the SELECT lists match the dataclasses' field order):
# a large account's Flow Quality tab builds thousands of them per request.
_FLOW_WIDTH = 8


def flow_row(row: Any) -> FlowRow:
    return FlowRow(*row[:_FLOW_WIDTH])


def flow_stats(values: Any) -> FlowPeriodStats:
    """From (usage, resolved, guided, avg_confidence); the average is already float8."""
    return FlowPeriodStats(*values)


async def flows_by_ids(
    reader: Reader, account_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, FlowRow]:
    """The non-archived flows among `ids` (others, and other accounts', are absent)."""
    rows = await reader.rows(_BY_IDS, {"account_id": account_id, "ids": list(ids)})
    return {row["id"]: flow_row(row) for row in rows}


async def flows_by_domain_keys(
    reader: Reader,
    account_id: uuid.UUID,
    keys: Sequence[str],
    per_key: int | None = None,
) -> dict[str, list[FlowRow]]:
    """Non-archived flows per domain key (those of the keys aliased to it too), each list
    ordered by name then id and cut to its first `per_key` flows (all when None)."""
    params = {"account_id": account_id, "keys": list(keys), "per_key": per_key}
    grouped: dict[str, list[FlowRow]] = {key: [] for key in keys}
    for row in await reader.rows(_BY_DOMAIN_KEYS, params):
        grouped[row["wanted"]].append(flow_row(row))
    return grouped


async def flows_with_stats_by_domain_keys(
    reader: Reader,
    account_id: uuid.UUID,
    window: Window,
    keys: Sequence[str],
    per_key: int | None = None,
) -> dict[str, list[tuple[FlowRow, FlowPeriodStats]]]:
    """`flows_by_domain_keys`, each flow with its period statistics in `window`."""
    params = {**block_params(account_id, window), "keys": list(keys), "per_key": per_key}
    grouped: dict[str, list[tuple[FlowRow, FlowPeriodStats]]] = {key: [] for key in keys}
    for row in await reader.rows(_BY_DOMAIN_KEYS_WITH_STATS, params):
        flow = flow_row(row)
        grouped[row["wanted"]].append((flow, flow_stats(row[_FLOW_WIDTH : _FLOW_WIDTH + 4])))
    return grouped


async def flow_stats_by_ids(
    reader: Reader, account_id: uuid.UUID, window: Window, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, FlowPeriodStats]:
    """Period statistics per flow id; flows without sessions are absent."""
    params = {**block_params(account_id, window), "ids": list(ids)}
    return {row[0]: flow_stats(row[1:]) for row in await reader.rows(_STATS_BY_IDS, params)}


async def flows_with_stats(
    reader: Reader, account_id: uuid.UUID, window: Window
) -> list[tuple[FlowRow, FlowPeriodStats]]:
    """Every non-archived flow with its period statistics, in no particular order."""
    rows = await reader.rows(_ALL_WITH_STATS, block_params(account_id, window))
    return [(flow_row(row), flow_stats(row[_FLOW_WIDTH:])) for row in rows]
