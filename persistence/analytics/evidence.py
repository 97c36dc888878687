"""Evidence: the sessions and PSA pushes behind a count of the tabs, paged by keyset.

A filter says which count it opens (a domain or the unmapped sessions, a flow, a tier, an
outcome, a push-funnel step, a local day) with the same definitions as the tabs' counts
(docs/metrics.md). Rows come from the raw tables newest first, ordered by (started_at,
id) descending, so a page that continues after a cursor neither repeats nor skips a row
when sessions are written meanwhile. `total` is read from the same rollup rows the tab
reads whenever the filter is one a rollup counts (every count a tab shows is), else by
counting the raw rows; the equivalence tests hold both to the raw scan.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from core.metrics.keys import domain_key_sql
from core.metrics.window import Window, local_midnight
from persistence.analytics.aliases import DOMAIN_OF_PARAMETER, mapped_key
from persistence.analytics.filters import (
    ACTIVITIES_IN_WINDOW,
    BLOCKS_IN_WINDOW,
    DAYS_IN_WINDOW,
    SESSIONS_IN_WINDOW,
    block_params,
    day_number,
)
from persistence.reader import Reader

SESSION_KEY = domain_key_sql("s.problem_domain")
# The key with '' for no key (as the rollups store it), the expression of the sessions'
# domain index: a domain's and the unmapped sessions are both an equality on it, so the
# index returns them in the keyset's order, whatever plan a prepared statement gets.
SESSION_INDEX_KEY = "coalesce(lower(btrim(regexp_replace(s.problem_domain, '\\s+', ' ', 'g'))), '')"
TIERS = ("guided", "exploring", "discovery")
OUTCOMES = ("resolved", "escalated")
FUNNEL_STEPS = ("linked", "doc_pushed", "time_logged")
ACTIVITY_KINDS = ("time_entry_posted", "note_posted", "status_updated")

_LINKED = "coalesce(btrim(s.psa_ticket_id), '') <> ''"


def _pushed(kind: str) -> str:
    return (
        "EXISTS (SELECT 1 FROM psa_activity_log p WHERE p.session_id = s.id"
        f" AND p.account_id = :account_id AND p.activity_type = '{kind}')"
    )


# Each step of the push funnel is a subset of the one before (METRICS.md).
_FUNNEL_SQL = {
    "linked": _LINKED,
    "doc_pushed": f"{_LINKED} AND {_pushed('note_posted')}",
    "time_logged": f"{_LINKED} AND {_pushed('note_posted')} AND {_pushed('time_entry_posted')}",
}
_TIER_SQL = {
    "guided": "s.confidence_tier = 'guided'",
    "exploring": "s.confidence_tier = 'exploring'",
    "discovery": "s.confidence_tier = 'discovery'",
    # `unknown` on the Overview: every session that is in none of the three tiers.
    "unknown": "s.confidence_tier IS DISTINCT FROM 'guided'"
    " AND s.confidence_tier IS DISTINCT FROM 'exploring'"
    " AND s.confidence_tier IS DISTINCT FROM 'discovery'",
}
# The rollup column that counts each single condition.
_SESSION_ROLLUP_COLUMN = {
    ("outcome", "resolved"): "r.resolved",
    ("outcome", "escalated"): "r.escalated",
    ("tier", "guided"): "r.guided",
    ("tier", "exploring"): "r.exploring",
    ("tier", "discovery"): "r.discovery",
    ("tier", "unknown"): "r.sessions - r.guided - r.exploring - r.discovery",
    ("funnel", "linked"): "r.linked",
    ("funnel", "doc_pushed"): "r.doc_pushed",
    ("funnel", "time_logged"): "r.time_logged",
}
_FLOW_ROLLUP_COLUMN = {("outcome", "resolved"): "r.resolved", ("tier", "guided"): "r.guided"}
_ACTIVITY_ROLLUP_COLUMN = {
    None: "r.time_entries + r.notes + r.status_updates",  # the type's CHECK allows only these
    "time_entry_posted": "r.time_entries",
    "note_posted": "r.notes",
    "status_updated": "r.status_updates",
}


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """Which sessions of a window a count counts; every given part must hold."""

    domain_key: str | None = None
    unmapped: bool = False
    flow_id: uuid.UUID | None = None
    outcome: str | None = None  # one of OUTCOMES
    tier: str | None = None  # one of TIERS or 'unknown'
    funnel: str | None = None  # one of FUNNEL_STEPS
    day: date | None = None  # a local day of the window

    def conditions(self, *, with_domain: bool = True) -> list[str]:
        """SQL conditions on `s`, from fixed fragments only (values are parameters). The
        domain is the one `domain_key` names through the aliases: its own key's sessions and
        those of every key aliased to it (`with_domain=False` leaves it to the caller)."""
        parts: list[str] = []
        if self.domain_key is not None and with_domain:
            parts.append(f"{SESSION_INDEX_KEY} IN (SELECT d.key FROM {DOMAIN_OF_PARAMETER} d)")
        if self.unmapped:
            parts.append(f"{SESSION_INDEX_KEY} = ''")
        if self.flow_id is not None:
            parts.append("s.matched_flow_id = :flow_id")
        if self.outcome is not None:
            parts.append("s.status = :outcome")
        if self.tier is not None:
            parts.append(_TIER_SQL[self.tier])
        if self.funnel is not None:
            parts.append(_FUNNEL_SQL[self.funnel])
        return parts

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.domain_key is not None:
            params["domain_key"] = self.domain_key
        if self.flow_id is not None:
            params["flow_id"] = self.flow_id
        if self.outcome is not None:
            params["outcome"] = self.outcome
        return params

    def _single(self) -> list[tuple[str, str]]:
        return [
            (name, value)
            for name, value in (
                ("outcome", self.outcome),
                ("tier", self.tier),
                ("funnel", self.funnel),
            )
            if value is not None
        ]

    def rollup_count(self) -> tuple[str, str, str] | None:
        """(table, column, extra condition) of the rollup that counts this filter, if any."""
        single = self._single()
        if len(single) > 1:
            return None
        if self.flow_id is not None:
            if self.domain_key is not None or self.unmapped:
                return None
            if not single:
                return ("rollup_flow_blocks", "r.usage", "r.flow_id = :flow_id")
            column = _FLOW_ROLLUP_COLUMN.get(single[0])
            if column is None:
                return None
            return ("rollup_flow_blocks", column, "r.flow_id = :flow_id")
        column = _SESSION_ROLLUP_COLUMN[single[0]] if single else "r.sessions"
        extra = "TRUE"
        if self.domain_key is not None:
            extra = f"r.domain_key IN (SELECT d.key FROM {DOMAIN_OF_PARAMETER} d)"
        elif self.unmapped:
            extra = "r.domain_key = ''"
        return ("rollup_session_blocks", column, extra)


@dataclass(frozen=True, slots=True)
class SessionCursor:
    """Where a page ended: the last row's start and id (rows go newest first)."""

    started_at: datetime
    id: uuid.UUID


@dataclass(frozen=True, slots=True)
class EvidenceSessionRow:
    id: uuid.UUID
    started_at: datetime
    resolved_at: datetime | None
    status: str
    problem_domain: str | None
    domain_key: str | None
    confidence_tier: str | None
    matched_flow_id: uuid.UUID | None
    matched_flow_name: str | None
    match_confidence: float | None
    rating: int | None
    psa_ticket_id: str | None


@dataclass(frozen=True, slots=True)
class EvidenceActivityRow:
    id: uuid.UUID
    session_id: uuid.UUID | None
    activity_type: str
    hours_logged: float | None
    psa_ticket_id: str
    provider: str
    external_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    """Which PSA pushes of a window: one kind (all kinds when None), one local day."""

    activity_type: str | None = None
    day: date | None = None


@dataclass(frozen=True, slots=True)
class ActivityCursor:
    created_at: datetime
    id: uuid.UUID


def _bounds(window: Window, day: date | None) -> tuple[datetime, datetime]:
    """The instants the rows must fall in: the window, or one of its local days."""
    if day is None:
        return window.start, window.end
    return local_midnight(day, window.zone), local_midnight(day + timedelta(days=1), window.zone)


def _blocks(account_id: uuid.UUID, window: Window, day: date | None) -> dict[str, Any]:
    if day is None:
        return block_params(account_id, window)
    return {**block_params(account_id, window), "levels": [0], "blocks": [day_number(day)]}


# The key a session counts under: its problem domain's, read through the aliases; the
# flow's name by its id (a flow of the account only), for the page's rows alone.
_SESSION_COLUMNS = f"""
    s.id, s.started_at, s.resolved_at, s.status, s.problem_domain,
    {mapped_key(SESSION_KEY)} AS domain_key,
    s.confidence_tier, s.matched_flow_id,
    (SELECT t.name FROM trees t WHERE t.id = s.matched_flow_id AND t.account_id = :account_id)
        AS flow_name,
    s.match_confidence, s.rating, s.psa_ticket_id
"""


def session_page_statement(where: Sequence[str], after: bool, by_domain: bool = False) -> str:
    """A page's statement: the page's sessions first, then each one's domain key and flow
    name, so the LIMIT applies to the sessions alone and the look-ups are made for the
    page's rows only (a join placed below the sort looked up every row of the filter, or
    hashed every flow of the account). `by_domain`: the sessions of each key of the
    filter's domain (persistence.analytics.aliases), each key's first page read in index
    order from ix_ai_sessions_account_domain_key_started, merged: one text whatever the
    aliases."""
    conditions = [SESSIONS_IN_WINDOW, *where]
    if after:
        conditions.append("(s.started_at, s.id) < (:after_at, :after_id)")
    if by_domain:
        page = f"""
            SELECT s.* FROM {DOMAIN_OF_PARAMETER} d CROSS JOIN LATERAL (
                SELECT s.* FROM ai_sessions s
                WHERE {" AND ".join([*conditions, f"{SESSION_INDEX_KEY} = d.key"])}
                ORDER BY s.started_at DESC, s.id DESC
                LIMIT :limit
            ) s"""
    else:
        page = f"""
            SELECT s.* FROM ai_sessions s
            WHERE {" AND ".join(conditions)}"""
    return f"""
        SELECT {_SESSION_COLUMNS}
        FROM ({page}
            ORDER BY s.started_at DESC, s.id DESC
            LIMIT :limit
        ) s
        ORDER BY s.started_at DESC, s.id DESC
    """


async def session_page(
    reader: Reader,
    account_id: uuid.UUID,
    window: Window,
    where: SessionFilter,
    first: int,
    after: SessionCursor | None,
) -> tuple[list[EvidenceSessionRow], bool]:
    """Up to `first` rows after `after`, newest first, and whether more follow."""
    start, end = _bounds(window, where.day)
    params: dict[str, Any] = {
        "account_id": account_id,
        "start": start,
        "end": end,
        "limit": first + 1,
        **where.params(),
    }
    if after is not None:
        params |= {"after_at": after.started_at, "after_id": after.id}
    by_domain = where.domain_key is not None
    sql = session_page_statement(
        where.conditions(with_domain=False), after is not None, by_domain=by_domain
    )
    rows = await reader.rows(sql, params)
    page = [EvidenceSessionRow(*row) for row in rows[:first]]
    return page, len(rows) > first


async def session_total(
    reader: Reader, account_id: uuid.UUID, window: Window, where: SessionFilter
) -> int:
    """How many sessions the filter matches in the window (the whole list, not a page)."""
    rollup = where.rollup_count()
    if rollup is not None:
        table, column, extra = rollup
        sql = (
            f"SELECT coalesce(sum({column}), 0)::bigint AS total"
            f" FROM {table} r JOIN {BLOCKS_IN_WINDOW} WHERE {extra}"
        )
        params = {**_blocks(account_id, window, where.day), **where.params()}
        (row,) = await reader.rows(sql, params)
        return int(row["total"])
    start, end = _bounds(window, where.day)
    sql = (
        "SELECT count(*) AS total FROM ai_sessions s"
        f" WHERE {' AND '.join([SESSIONS_IN_WINDOW, *where.conditions()])}"
    )
    params = {"account_id": account_id, "start": start, "end": end, **where.params()}
    (row,) = await reader.rows(sql, params)
    return int(row["total"])


_PUSHES_OF_SESSIONS = """
    SELECT p.id, p.session_id, p.activity_type, p.hours_logged, p.psa_ticket_id, p.provider,
           p.external_id, p.created_at
    FROM psa_activity_log p
    WHERE p.account_id = :account_id AND p.session_id = ANY(CAST(:ids AS uuid[]))
    ORDER BY p.created_at, p.id
"""


async def pushes_of_sessions(
    reader: Reader, account_id: uuid.UUID, session_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[EvidenceActivityRow]]:
    """Every PSA push of each session (any date), oldest first."""
    grouped: dict[uuid.UUID, list[EvidenceActivityRow]] = {key: [] for key in session_ids}
    if not session_ids:
        return grouped
    params = {"account_id": account_id, "ids": list(session_ids)}
    for row in await reader.rows(_PUSHES_OF_SESSIONS, params):
        grouped[row["session_id"]].append(EvidenceActivityRow(*row))
    return grouped


def activity_page_statement(by_type: bool, after: bool) -> str:
    conditions = [ACTIVITIES_IN_WINDOW]
    if by_type:
        conditions.append("p.activity_type = :activity_type")
    if after:
        conditions.append("(p.created_at, p.id) < (:after_at, :after_id)")
    return f"""
        SELECT p.id, p.session_id, p.activity_type, p.hours_logged, p.psa_ticket_id, p.provider,
               p.external_id, p.created_at
        FROM psa_activity_log p
        WHERE {" AND ".join(conditions)}
        ORDER BY p.created_at DESC, p.id DESC
        LIMIT :limit
    """


async def activity_page(
    reader: Reader,
    account_id: uuid.UUID,
    window: Window,
    where: ActivityFilter,
    first: int,
    after: ActivityCursor | None,
) -> tuple[list[EvidenceActivityRow], bool]:
    """Up to `first` pushes after `after`, newest first, and whether more follow."""
    start, end = _bounds(window, where.day)
    params: dict[str, Any] = {"account_id": account_id, "start": start, "end": end}
    params["limit"] = first + 1
    if where.activity_type is not None:
        params["activity_type"] = where.activity_type
    if after is not None:
        params |= {"after_at": after.created_at, "after_id": after.id}
    sql = activity_page_statement(where.activity_type is not None, after is not None)
    rows = await reader.rows(sql, params)
    return [EvidenceActivityRow(*row) for row in rows[:first]], len(rows) > first


async def activity_total(
    reader: Reader, account_id: uuid.UUID, window: Window, where: ActivityFilter
) -> int:
    """Pushes of the window (or day) of the kind, from the PSA tab's own day rows."""
    column = _ACTIVITY_ROLLUP_COLUMN[where.activity_type]
    params = block_params(account_id, window)
    if where.day is not None:
        params |= {"first_day": where.day, "last_day": where.day}
    sql = f"SELECT coalesce(sum({column}), 0)::bigint AS total FROM rollup_psa_days r"
    (row,) = await reader.rows(f"{sql} WHERE {DAYS_IN_WINDOW}", params)
    return int(row["total"])
