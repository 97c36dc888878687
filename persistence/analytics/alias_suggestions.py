"""What alias suggestions read in a window: each domain key as spelled (no alias applied),
sessions matched to flows of another key, and the account's aliases and dismissals."""

from __future__ import annotations

import uuid

from core.metrics.alias_matching import AliasSuggestion, DomainFacts, suggestions
from core.metrics.keys import domain_key_sql
from core.metrics.window import Window
from persistence.analytics.domains import trimmed
from persistence.analytics.filters import (
    BLOCKS_IN_WINDOW,
    SESSIONS_IN_WINDOW,
    block_params,
    window_params,
)
from persistence.analytics.flows import TREE_KEY
from persistence.reader import Reader

# Each key of the window's domain set by the plain rule (docs/metrics.md, Domains), the
# keys as spelled: flows' smallest trimmed spelling, else the most frequent session one.
_RAW_DOMAINS = f"""
    WITH flow_domains AS (
        SELECT {TREE_KEY} AS key, min({trimmed("t.category")} COLLATE "C") AS name,
               count(*) AS flow_count
        FROM trees t
        WHERE t.account_id = :account_id AND t.status <> 'archived' AND {TREE_KEY} IS NOT NULL
        GROUP BY 1
    ),
    session_spellings AS (
        SELECT r.domain_key AS key, r.spelling, sum(r.sessions) AS n
        FROM rollup_session_blocks r JOIN {BLOCKS_IN_WINDOW}
        WHERE r.domain_key <> ''
        GROUP BY r.domain_key, r.spelling
        HAVING sum(r.sessions) > 0
    ),
    session_domains AS (
        SELECT key, sum(n)::bigint AS session_count,
               (array_agg(spelling ORDER BY n DESC, spelling COLLATE "C"))[1] AS name
        FROM session_spellings
        GROUP BY key
    )
    SELECT coalesce(f.key, s.key) AS key, coalesce(f.name, s.name) AS name,
           coalesce(f.flow_count, 0) AS flow_count, coalesce(s.session_count, 0) AS session_count
    FROM flow_domains f FULL JOIN session_domains s ON s.key = f.key
"""
# Sessions of the window by their key and the key of their matched flow's category, where
# the two differ (the raw rows: the rollups keep no such pair).
_SHARED = f"""
    SELECT m.key, m.flow_key, count(*) AS sessions
    FROM (SELECT {domain_key_sql("s.problem_domain")} AS key, {TREE_KEY} AS flow_key
          FROM ai_sessions s
          JOIN trees t ON t.id = s.matched_flow_id AND t.account_id = :account_id
          WHERE {SESSIONS_IN_WINDOW} AND s.matched_flow_id IS NOT NULL
            AND t.status <> 'archived') m
    WHERE m.key IS NOT NULL AND m.flow_key IS NOT NULL AND m.key <> m.flow_key
    GROUP BY 1, 2
"""
_ALIASES = "SELECT a.alias_key, a.target_key FROM domain_aliases a WHERE a.account_id = :account_id"
_DISMISSED = """
    SELECT DISTINCT e.alias_key, e.target_key FROM domain_alias_events e
    WHERE e.account_id = :account_id AND e.action = 'dismissed'
"""


async def alias_suggestions(
    reader: Reader, account_id: uuid.UUID, window: Window
) -> list[AliasSuggestion]:
    """The pairs core.metrics.alias_matching suggests from the window's domains."""
    domains = [
        DomainFacts(row["key"], row["name"], row["flow_count"], row["session_count"])
        for row in await reader.rows(_RAW_DOMAINS, block_params(account_id, window))
    ]
    shared = {
        (row["key"], row["flow_key"]): int(row["sessions"])
        for row in await reader.rows(_SHARED, window_params(account_id, window))
    }
    params = {"account_id": account_id}
    aliases = {row[0]: row[1] for row in await reader.rows(_ALIASES, params)}
    dismissed = {(row[0], row[1]) for row in await reader.rows(_DISMISSED, params)}
    return suggestions(domains, shared, aliases, dismissed)
