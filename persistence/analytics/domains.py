"""The domain set of a window: flow categories and session problem domains, merged by key
and by the account's aliases."""

from __future__ import annotations

import uuid

from core.metrics.keys import domain_key_sql
from core.metrics.rows import DomainRow, DomainSet, SessionCounts
from core.metrics.window import Window
from persistence.analytics.filters import BLOCKS_IN_WINDOW, block_params
from persistence.analytics.sessions import COUNT_COLUMNS, COUNTS, counts_of_row
from persistence.reader import Reader


def trimmed(column: str) -> str:
    """`column` without leading and trailing white space of any kind (tabs, newlines too)."""
    return f"regexp_replace({column}, '^\\s+|\\s+$', '', 'g')"


# A domain's session counts: the sums of its spellings' sums (exact: integers, and the
# numeric resolution minutes), the same numbers as `sessions.session_counts_by_domain`.
_DOMAIN_COUNTS = ", ".join(
    f"sum({column}) AS {column}"
    if column == "resolution_minutes_sum"
    else f"sum({column})::bigint AS {column}"
    for column in COUNT_COLUMNS
)
# A flow spelling's key, computed once per distinct spelling: a large account has thousands
# of flows and a few hundred spellings, and the key's regular expression was most of the
# statement's time when it ran per flow.
CATEGORY_KEY = domain_key_sql("c.category")
# Spellings are merged by key, and keys through the account's aliases (an alias's rows
# count under its target). Names: the target's own spellings first, the smallest trimmed
# flow spelling (trimmed once per distinct spelling), else its most frequent trimmed session
# spelling (ties: the smallest); a domain whose target key has neither in the window takes
# the same two from its aliases' spellings. Without aliases that is the plain rule. A NULL
# key row carries the unmapped session count. Session spellings come from the rollups
# (unmapped sessions are stored with key ''). One text whatever the aliases.
_DOMAIN_SET = f"""
    WITH aliases AS MATERIALIZED (
        SELECT a.alias_key, a.target_key FROM domain_aliases a WHERE a.account_id = :account_id
    ),
    flow_categories AS MATERIALIZED (
        SELECT {CATEGORY_KEY} AS key, c.category, c.n
        FROM (SELECT t.category, count(*) AS n
              FROM trees t
              WHERE t.account_id = :account_id AND t.status <> 'archived'
              GROUP BY t.category) c
    ),
    flow_spellings AS (
        SELECT coalesce(al.target_key, f.key) AS key, al.target_key IS NULL AS own,
               {trimmed("f.category")} AS spelling, f.n
        FROM flow_categories f
        LEFT JOIN aliases al ON al.alias_key = f.key
        WHERE f.key IS NOT NULL
    ),
    flow_domains AS (
        SELECT key, min(spelling COLLATE "C") FILTER (WHERE own) AS own_name,
               min(spelling COLLATE "C") AS any_name, sum(n)::bigint AS flow_count
        FROM flow_spellings
        GROUP BY key
    ),
    session_spellings AS (
        SELECT NULLIF(r.domain_key, '') AS key, r.spelling, {COUNTS}
        FROM rollup_session_blocks r JOIN {BLOCKS_IN_WINDOW}
        GROUP BY r.domain_key, r.spelling
        HAVING sum(r.sessions) > 0
    ),
    session_domains AS (
        SELECT coalesce(al.target_key, s.key) AS key, sum(s.sessions)::bigint AS session_count,
               (array_agg(s.spelling ORDER BY s.sessions DESC, s.spelling COLLATE "C")
                  FILTER (WHERE al.target_key IS NULL))[1] AS own_name,
               (array_agg(s.spelling ORDER BY s.sessions DESC, s.spelling COLLATE "C"))[1]
                  AS any_name,
               {_DOMAIN_COUNTS}
        FROM session_spellings s
        LEFT JOIN aliases al ON al.alias_key = s.key
        GROUP BY 1
    )
    SELECT coalesce(f.key, s.key) AS key,
           coalesce(f.own_name, s.own_name, f.any_name, s.any_name) AS name,
           coalesce(f.flow_count, 0) AS flow_count,
           coalesce(s.session_count, 0) AS session_count,
           s.key IS NOT NULL AS has_sessions,
           {", ".join(f"s.{column}" for column in COUNT_COLUMNS)}
    FROM flow_domains f
    FULL JOIN session_domains s ON s.key = f.key
    ORDER BY (coalesce(f.key, s.key) IS NULL), session_count DESC,
             coalesce(f.own_name, s.own_name, f.any_name, s.any_name) COLLATE "C"
"""


async def domain_set(reader: Reader, account_id: uuid.UUID, window: Window) -> DomainSet:
    """Every domain of the window, sessionCount desc then name, and the unmapped count."""
    return (await domain_set_with_counts(reader, account_id, window))[0]


async def domain_set_with_counts(
    reader: Reader, account_id: uuid.UUID, window: Window
) -> tuple[DomainSet, dict[str, SessionCounts]]:
    """The domain set, and the session counts of each of its domains that has sessions in
    the window (read by the same statement)."""
    domains: list[DomainRow] = []
    counts: dict[str, SessionCounts] = {}
    unmapped = 0
    for row in await reader.rows(_DOMAIN_SET, block_params(account_id, window)):
        key = row["key"]
        if key is None:
            unmapped = row["session_count"]
            continue
        domains.append(DomainRow(key, row["name"], row["flow_count"], row["session_count"]))
        if row["has_sessions"]:
            counts[key] = counts_of_row(row)
    return DomainSet(tuple(domains), unmapped), counts
