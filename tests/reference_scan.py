"""The analytics computed by scanning sessions and activities directly (no rollups).

These are the statements the tabs ran before the rollups existed. They stay as the
oracle of the randomized equivalence test and of the benchmark's floor: any rollup
answer must equal theirs. Not used on the request path.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from core.metrics.keys import domain_key_sql
from core.metrics.rows import (
    DomainRow,
    DomainSet,
    FlowPeriodStats,
    FlowRow,
    PsaDay,
    PsaTotals,
    PushFunnelCounts,
    SessionCounts,
)
from core.metrics.window import Window
from persistence.analytics.filters import ACTIVITIES_IN_WINDOW, SESSIONS_IN_WINDOW, window_params
from persistence.analytics.overview_daily import OverviewDay


def _trimmed(column: str) -> str:
    return f"regexp_replace({column}, '^\\s+|\\s+$', '', 'g')"


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

SESSION_TOTALS = text(f"SELECT {_COUNTS} FROM ai_sessions s WHERE {SESSIONS_IN_WINDOW}")

SESSIONS_BY_DOMAIN = text(
    f"""
    SELECT d.key, {_COUNTS}
    FROM (SELECT {domain_key_sql("s.problem_domain")} AS key, s.*
          FROM ai_sessions s WHERE {SESSIONS_IN_WINDOW}) AS s
    JOIN unnest(:keys) AS d(key) ON d.key = s.key
    GROUP BY d.key
    """
).bindparams(bindparam("keys", type_=ARRAY(Text)))

DOMAIN_SET = text(
    f"""
    WITH flow_domains AS (
        SELECT key, min(spelling COLLATE "C") AS name, count(*) AS flow_count
        FROM (SELECT {domain_key_sql("t.category")} AS key, {_trimmed("t.category")} AS spelling
              FROM trees t
              WHERE t.account_id = :account_id AND t.status <> 'archived') f
        WHERE key IS NOT NULL
        GROUP BY key
    ),
    session_spellings AS (
        SELECT {domain_key_sql("s.problem_domain")} AS key,
               {_trimmed("s.problem_domain")} AS spelling, count(*) AS n
        FROM ai_sessions s
        WHERE {SESSIONS_IN_WINDOW}
        GROUP BY 1, 2
    ),
    session_domains AS (
        SELECT key, sum(n)::bigint AS session_count,
               (array_agg(spelling ORDER BY n DESC, spelling COLLATE "C"))[1] AS name
        FROM session_spellings
        GROUP BY key
    )
    SELECT coalesce(f.key, s.key) AS key,
           coalesce(f.name, s.name) AS name,
           coalesce(f.flow_count, 0) AS flow_count,
           coalesce(s.session_count, 0) AS session_count
    FROM flow_domains f
    FULL JOIN session_domains s ON s.key = f.key
    ORDER BY (coalesce(f.key, s.key) IS NULL), session_count DESC,
             coalesce(f.name, s.name) COLLATE "C"
    """
)

_FLOW_COLUMNS = f"""
    t.id, t.name, t.category, t.status, t.usage_count, t.success_rate, t.last_matched_at,
    {domain_key_sql("t.category")} AS domain_key
"""
_STATS = """
    count(*) AS usage,
    count(*) FILTER (WHERE s.status = 'resolved') AS resolved,
    count(*) FILTER (WHERE s.confidence_tier = 'guided') AS guided,
    avg(s.match_confidence) AS avg_confidence
"""

FLOW_STATS_BY_IDS = text(
    f"""
    SELECT s.matched_flow_id AS id, {_STATS}
    FROM ai_sessions s
    WHERE {SESSIONS_IN_WINDOW} AND s.matched_flow_id = ANY(:ids)
    GROUP BY s.matched_flow_id
    """
).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))

FLOWS_WITH_STATS = text(
    f"""
    SELECT {_FLOW_COLUMNS}, coalesce(st.usage, 0) AS usage, coalesce(st.resolved, 0) AS resolved,
           coalesce(st.guided, 0) AS guided, st.avg_confidence
    FROM trees t
    LEFT JOIN (
        SELECT s.matched_flow_id, {_STATS}
        FROM ai_sessions s
        WHERE {SESSIONS_IN_WINDOW} AND s.matched_flow_id IS NOT NULL
        GROUP BY s.matched_flow_id
    ) st ON st.matched_flow_id = t.id
    WHERE t.account_id = :account_id AND t.status <> 'archived'
    """
)

PSA_TOTALS = text(
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

PSA_DAILY = text(
    f"""
    SELECT (p.created_at AT TIME ZONE :timezone)::date AS day,
           count(*) AS entries,
           coalesce(sum(p.hours_logged::numeric), 0) AS hours
    FROM psa_activity_log p
    WHERE {ACTIVITIES_IN_WINDOW} AND p.activity_type = 'time_entry_posted'
    GROUP BY 1
    """
)

PUSH_FUNNEL = text(
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

OVERVIEW_DAILY = text(
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


def _stats(row: Any) -> FlowPeriodStats:
    confidence = row.avg_confidence
    return FlowPeriodStats(
        usage=row.usage,
        resolved=row.resolved,
        guided=row.guided,
        avg_confidence=None if confidence is None else float(confidence),
    )


async def session_totals(
    session: AsyncSession, account_id: uuid.UUID, window: Window
) -> SessionCounts:
    return _counts((await session.execute(SESSION_TOTALS, window_params(account_id, window))).one())


async def session_counts_by_domain(
    session: AsyncSession, account_id: uuid.UUID, window: Window, keys: Sequence[str]
) -> dict[str, SessionCounts]:
    params = {**window_params(account_id, window), "keys": list(keys)}
    return {row.key: _counts(row) for row in await session.execute(SESSIONS_BY_DOMAIN, params)}


async def domain_set(session: AsyncSession, account_id: uuid.UUID, window: Window) -> DomainSet:
    domains: list[DomainRow] = []
    unmapped = 0
    for row in await session.execute(DOMAIN_SET, window_params(account_id, window)):
        if row.key is None:
            unmapped = row.session_count
        else:
            domains.append(DomainRow(row.key, row.name, row.flow_count, row.session_count))
    return DomainSet(tuple(domains), unmapped)


async def flow_stats_by_ids(
    session: AsyncSession, account_id: uuid.UUID, window: Window, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, FlowPeriodStats]:
    params = {**window_params(account_id, window), "ids": list(ids)}
    return {row.id: _stats(row) for row in await session.execute(FLOW_STATS_BY_IDS, params)}


async def flows_with_stats(
    session: AsyncSession, account_id: uuid.UUID, window: Window
) -> list[tuple[FlowRow, FlowPeriodStats]]:
    result = await session.execute(FLOWS_WITH_STATS, window_params(account_id, window))
    return [
        (
            FlowRow(
                id=row.id,
                name=row.name,
                category=row.category,
                status=row.status,
                usage_count=row.usage_count,
                success_rate=row.success_rate,
                last_matched_at=row.last_matched_at,
                domain_key=row.domain_key,
            ),
            _stats(row),
        )
        for row in result
    ]


async def psa_totals(session: AsyncSession, account_id: uuid.UUID, window: Window) -> PsaTotals:
    row = (await session.execute(PSA_TOTALS, window_params(account_id, window))).one()
    return PsaTotals(
        row.time_entries, float(row.hours), row.sessions, row.notes, row.status_updates
    )


async def psa_daily(session: AsyncSession, account_id: uuid.UUID, window: Window) -> list[PsaDay]:
    params = {**window_params(account_id, window), "timezone": window.zone.key}
    found = {row.day: row for row in await session.execute(PSA_DAILY, params)}
    return [
        PsaDay(day, found[day].entries, float(found[day].hours))
        if day in found
        else PsaDay(day, 0, 0.0)
        for day in window.days
    ]


async def push_funnel(
    session: AsyncSession, account_id: uuid.UUID, window: Window
) -> PushFunnelCounts:
    row = (await session.execute(PUSH_FUNNEL, window_params(account_id, window))).one()
    return PushFunnelCounts(row.total, row.linked, row.doc_pushed, row.time_logged)


async def overview_daily(
    session: AsyncSession, account_id: uuid.UUID, window: Window
) -> list[OverviewDay]:
    params = {**window_params(account_id, window), "timezone": window.zone.key}
    found = {
        row.day: OverviewDay(
            row.day,
            row.sessions,
            row.resolved,
            row.escalated,
            float(row.resolution_minutes_sum),
            row.resolution_minutes_count,
        )
        for row in await session.execute(OVERVIEW_DAILY, params)
    }
    return [found.get(day, OverviewDay(day)) for day in window.days]


# The rows behind the counts: each session of the window with every fact a count filters
# on, by the same definitions as the statements above (the funnel's cohort and pushes as
# PUSH_FUNNEL's), so a count's rows are the facts that match it.
SESSION_FACTS = text(
    f"""
    WITH cohort AS (
        SELECT s.id, {domain_key_sql("s.problem_domain")} AS key, s.matched_flow_id,
               s.status, s.confidence_tier,
               (s.started_at AT TIME ZONE :timezone)::date AS day,
               coalesce(btrim(s.psa_ticket_id), '') <> '' AS linked
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
    SELECT c.*, coalesce(p.has_note, false) AS has_note, coalesce(p.has_time, false) AS has_time
    FROM cohort c LEFT JOIN pushed p ON p.session_id = c.id
    """
)

ACTIVITY_FACTS = text(
    f"""
    SELECT p.id, p.activity_type, (p.created_at AT TIME ZONE :timezone)::date AS day
    FROM psa_activity_log p
    WHERE {ACTIVITIES_IN_WINDOW}
    """
)


async def session_facts(
    session: AsyncSession, account_id: uuid.UUID, window: Window
) -> list[dict[str, Any]]:
    """Every FlowPilot session of the window with the facts the counts filter on."""
    params = {**window_params(account_id, window), "timezone": window.zone.key}
    return [dict(row._mapping) for row in await session.execute(SESSION_FACTS, params)]


async def activity_facts(
    session: AsyncSession, account_id: uuid.UUID, window: Window
) -> list[dict[str, Any]]:
    """Every PSA push of the window with its kind and local day."""
    params = {**window_params(account_id, window), "timezone": window.zone.key}
    return [dict(row._mapping) for row in await session.execute(ACTIVITY_FACTS, params)]


# With aliases (docs/metrics.md, "Domain aliases"): a key's rows count under its alias's
# target. The reference merges in Python from per-spelling counts (integers), and sums
# the sessions of the merged keys in one plain statement (exact numeric sums).
FLOW_SPELLINGS = text(
    f"""
    SELECT {domain_key_sql("t.category")} AS key, {_trimmed("t.category")} AS spelling,
           count(*) AS n
    FROM trees t
    WHERE t.account_id = :account_id AND t.status <> 'archived'
      AND {domain_key_sql("t.category")} IS NOT NULL
    GROUP BY 1, 2
    """
)
SESSION_SPELLINGS = text(
    f"""
    SELECT {domain_key_sql("s.problem_domain")} AS key,
           {_trimmed("s.problem_domain")} AS spelling, count(*) AS n
    FROM ai_sessions s
    WHERE {SESSIONS_IN_WINDOW}
    GROUP BY 1, 2
    """
)
SESSIONS_BY_MERGED_DOMAIN = text(
    f"""
    SELECT d.key, {_COUNTS}
    FROM (SELECT coalesce(m.target_key, x.raw_key) AS key, x.*
          FROM (SELECT {domain_key_sql("s.problem_domain")} AS raw_key, s.*
                FROM ai_sessions s WHERE {SESSIONS_IN_WINDOW}) AS x
          LEFT JOIN unnest(:alias_keys, :target_keys) AS m(alias_key, target_key)
            ON m.alias_key = x.raw_key) AS s
    JOIN unnest(:keys) AS d(key) ON d.key = s.key
    GROUP BY d.key
    """
).bindparams(
    bindparam("keys", type_=ARRAY(Text)),
    bindparam("alias_keys", type_=ARRAY(Text)),
    bindparam("target_keys", type_=ARRAY(Text)),
)


def _most_frequent(spellings: dict[str, int]) -> str | None:
    if not spellings:
        return None
    return min(spellings, key=lambda spelling: (-spellings[spelling], spelling))


async def merged_domain_set(
    session: AsyncSession, account_id: uuid.UUID, window: Window, aliases: dict[str, str]
) -> DomainSet:
    """The domain set with every alias's key read as its target's: names from the target's
    own flows, else its own most frequent session spelling, else the same from its aliases."""
    own_flows: dict[str, list[str]] = {}
    any_flows: dict[str, list[str]] = {}
    flow_counts: dict[str, int] = {}
    for row in await session.execute(FLOW_SPELLINGS, {"account_id": account_id}):
        key = aliases.get(row.key, row.key)
        flow_counts[key] = flow_counts.get(key, 0) + row.n
        any_flows.setdefault(key, []).append(row.spelling)
        if key == row.key:
            own_flows.setdefault(key, []).append(row.spelling)
    own_sessions: dict[str, dict[str, int]] = {}
    any_sessions: dict[str, dict[str, int]] = {}
    session_counts: dict[str | None, int] = {}
    for row in await session.execute(SESSION_SPELLINGS, window_params(account_id, window)):
        key = None if row.key is None else aliases.get(row.key, row.key)
        session_counts[key] = session_counts.get(key, 0) + row.n
        if key is None:
            continue
        merged = any_sessions.setdefault(key, {})
        merged[row.spelling] = merged.get(row.spelling, 0) + row.n
        if key == row.key:
            own = own_sessions.setdefault(key, {})
            own[row.spelling] = own.get(row.spelling, 0) + row.n
    keys = set(flow_counts) | {key for key in session_counts if key is not None}
    rows = []
    for key in keys:
        name = (
            min(own_flows.get(key, []), default=None)
            or _most_frequent(own_sessions.get(key, {}))
            or min(any_flows.get(key, []), default=None)
            or _most_frequent(any_sessions.get(key, {}))
        )
        assert name is not None
        rows.append(DomainRow(key, name, flow_counts.get(key, 0), session_counts.get(key, 0)))
    rows.sort(key=lambda row: (-row.session_count, row.name))
    return DomainSet(tuple(rows), session_counts.get(None, 0))


async def merged_session_counts_by_domain(
    session: AsyncSession,
    account_id: uuid.UUID,
    window: Window,
    keys: Sequence[str],
    aliases: dict[str, str],
) -> dict[str, SessionCounts]:
    params = {
        **window_params(account_id, window),
        "keys": list(keys),
        "alias_keys": list(aliases),
        "target_keys": list(aliases.values()),
    }
    return {
        row.key: _counts(row) for row in await session.execute(SESSIONS_BY_MERGED_DOMAIN, params)
    }


async def merged_flow_previews(
    session: AsyncSession,
    account_id: uuid.UUID,
    window: Window,
    keys: Sequence[str],
    per_key: int | None,
    aliases: dict[str, str],
) -> dict[str, list[FlowRow]]:
    """Each domain's non-archived flows (its aliases' too) by name then id, cut to per_key;
    every flow's domain key read through the aliases."""
    grouped: dict[str, list[FlowRow]] = {key: [] for key in keys}
    for row, _stats in await flows_with_stats(session, account_id, window):
        if row.domain_key is None:
            continue
        mapped = aliases.get(row.domain_key, row.domain_key)
        if mapped in grouped:
            grouped[mapped].append(_with_key(row, mapped))
    return {
        key: sorted(rows, key=lambda row: (row.name, row.id))[:per_key]
        for key, rows in grouped.items()
    }


def _with_key(row: FlowRow, key: str | None) -> FlowRow:
    return FlowRow(
        id=row.id,
        name=row.name,
        category=row.category,
        status=row.status,
        usage_count=row.usage_count,
        success_rate=row.success_rate,
        last_matched_at=row.last_matched_at,
        domain_key=key,
    )


async def merged_flows_with_stats(
    session: AsyncSession, account_id: uuid.UUID, window: Window, aliases: dict[str, str]
) -> list[tuple[FlowRow, FlowPeriodStats]]:
    return [
        (
            _with_key(
                row, None if row.domain_key is None else aliases.get(row.domain_key, row.domain_key)
            ),
            stats,
        )
        for row, stats in await flows_with_stats(session, account_id, window)
    ]
