"""The floor: the fewest, plainest SQL statements that compute each tab's numbers.

Run straight through asyncpg against the raw tables (no ORM, no GraphQL, no rollups),
this is what PostgreSQL itself charges for a tab. The results are assembled into the
same shape as the tab document's `data`, so the benchmark can also check that the API
returns exactly these numbers. Only the SQL round trips are timed.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

KEY = r"NULLIF(lower(btrim(regexp_replace({0}, '\s+', ' ', 'g'))), '')"
TRIM = r"regexp_replace({0}, '^\s+|\s+$', '', 'g')"
IN_WINDOW = (
    "account_id = $1 AND session_type = 'flowpilot' AND started_at >= $2 AND started_at < $3"
)

# Per (domain key, spelling) plus the grand total, in one pass over the window's sessions.
SESSION_GROUPS = f"""
SELECT grouping({KEY.format("problem_domain")}) = 1 AS total,
       {KEY.format("problem_domain")} AS key, {TRIM.format("problem_domain")} AS spelling,
       count(*) AS n,
       count(*) FILTER (WHERE status = 'resolved') AS resolved,
       count(*) FILTER (WHERE status = 'escalated') AS escalated,
       count(*) FILTER (WHERE confidence_tier = 'guided') AS guided,
       count(*) FILTER (WHERE confidence_tier = 'exploring') AS exploring,
       count(*) FILTER (WHERE confidence_tier = 'discovery') AS discovery,
       sum(extract(epoch FROM resolved_at - started_at) / 60)
           FILTER (WHERE status = 'resolved' AND resolved_at IS NOT NULL) AS minutes,
       count(*) FILTER (WHERE status = 'resolved' AND resolved_at IS NOT NULL) AS timed,
       sum(rating) AS rating_sum, count(rating) AS rated
FROM ai_sessions WHERE {IN_WINDOW}
GROUP BY GROUPING SETS ((), ({KEY.format("problem_domain")}, {TRIM.format("problem_domain")}))
"""
FLOWS = f"""
SELECT id, name, {KEY.format("category")} AS key, {TRIM.format("category")} AS spelling
FROM trees WHERE account_id = $1 AND status <> 'archived'
ORDER BY name COLLATE "C", id
"""
# The same flows with the sessions matched to each in the window (Coverage's previews).
FLOWS_WITH_USAGE = f"""
SELECT t.id, t.name, {KEY.format("t.category")} AS key, {TRIM.format("t.category")} AS spelling,
       coalesce(s.n, 0) AS n
FROM trees t LEFT JOIN (
    SELECT matched_flow_id, count(*) AS n
    FROM ai_sessions WHERE {IN_WINDOW} AND matched_flow_id IS NOT NULL
    GROUP BY matched_flow_id
) s ON s.matched_flow_id = t.id
WHERE t.account_id = $1 AND t.status <> 'archived'
ORDER BY t.name COLLATE "C", t.id
"""
# Sessions per local day started (the Overview chart), by the account's time zone $4.
OVERVIEW_DAYS = f"""
SELECT (started_at AT TIME ZONE $4)::date AS day, count(*) AS n,
       count(*) FILTER (WHERE status = 'resolved') AS resolved,
       count(*) FILTER (WHERE status = 'escalated') AS escalated,
       sum(extract(epoch FROM resolved_at - started_at) / 60)
           FILTER (WHERE status = 'resolved' AND resolved_at IS NOT NULL) AS minutes,
       count(*) FILTER (WHERE status = 'resolved' AND resolved_at IS NOT NULL) AS timed
FROM ai_sessions WHERE {IN_WINDOW}
GROUP BY 1
"""
FLOW_STATS = f"""
SELECT t.id, t.name, t.category, t.status, t.usage_count, t.last_matched_at,
       coalesce(s.n, 0) AS n, coalesce(s.resolved, 0) AS resolved,
       coalesce(s.guided, 0) AS guided, s.confidence
FROM trees t LEFT JOIN (
    SELECT matched_flow_id, count(*) AS n,
           count(*) FILTER (WHERE status = 'resolved') AS resolved,
           count(*) FILTER (WHERE confidence_tier = 'guided') AS guided,
           avg(match_confidence) AS confidence
    FROM ai_sessions WHERE {IN_WINDOW} AND matched_flow_id IS NOT NULL
    GROUP BY matched_flow_id
) s ON s.matched_flow_id = t.id
WHERE t.account_id = $1 AND t.status <> 'archived'
"""
PSA_DAYS = """
SELECT (created_at AT TIME ZONE $4)::date AS day, grouping((created_at AT TIME ZONE $4)::date) = 1
           AS total,
       count(*) FILTER (WHERE activity_type = 'time_entry_posted') AS entries,
       coalesce(sum(hours_logged::numeric) FILTER (WHERE activity_type = 'time_entry_posted'), 0)
           AS hours,
       count(DISTINCT session_id) FILTER (WHERE activity_type = 'time_entry_posted') AS sessions,
       count(*) FILTER (WHERE activity_type = 'note_posted') AS notes,
       count(*) FILTER (WHERE activity_type = 'status_updated') AS status_updates
FROM psa_activity_log WHERE account_id = $1 AND created_at >= $2 AND created_at < $3
GROUP BY GROUPING SETS ((), ((created_at AT TIME ZONE $4)::date))
"""
PSA_FUNNEL = f"""
WITH cohort AS (
    SELECT id, coalesce(btrim(psa_ticket_id), '') <> '' AS linked FROM ai_sessions
    WHERE {IN_WINDOW}
), pushed AS (
    SELECT session_id, bool_or(activity_type = 'note_posted') AS note,
           bool_or(activity_type = 'time_entry_posted') AS time_entry
    FROM psa_activity_log
    WHERE account_id = $1 AND session_id IN (SELECT id FROM cohort WHERE linked)
    GROUP BY session_id
)
SELECT count(*) AS total, count(*) FILTER (WHERE c.linked) AS linked,
       count(*) FILTER (WHERE c.linked AND p.note) AS doc_pushed,
       count(*) FILTER (WHERE c.linked AND p.note AND p.time_entry) AS time_logged
FROM cohort c LEFT JOIN pushed p ON p.session_id = c.id
"""
TIMEZONE = "SELECT timezone FROM accounts WHERE id = $1"
# The account's first data day: the local day ($2 is the zone) of its first FlowPilot session.
FIRST_DAY = """
SELECT (min(started_at) AT TIME ZONE $2)::date AS day
FROM ai_sessions WHERE account_id = $1 AND session_type = 'flowpilot'
"""
# Below this usage a flow's rates are a small sample (FlowQuality.smallSampleUsage).
SMALL_SAMPLE_USAGE = 10
# The tab documents' defaults: a preview of each domain's flows, the first flagged flows.
FLOWS_PER_DOMAIN = 5
ATTENTION_FIRST = 20
PERIOD_DAYS = {"LAST_7_DAYS": 7, "LAST_30_DAYS": 30, "LAST_90_DAYS": 90}


class Timer:
    """Accumulates the time spent awaiting the database."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.seconds = 0.0

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        started = time.perf_counter()
        rows: list[asyncpg.Record] = await self.connection.fetch(sql, *args)
        self.seconds += time.perf_counter() - started
        return rows


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def window(timezone: str, days: int, now: datetime) -> tuple[list[date], datetime, datetime]:
    zone = _zone(timezone)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), zone)
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), zone)
    return [first + timedelta(days=i) for i in range(days)], start, end


async def window_fields(
    timer: Timer,
    account_id: uuid.UUID,
    timezone: str,
    days: list[date],
    now: datetime,
    compared: bool = False,
) -> dict[str, Any]:
    """What every tab document selects about its window: the local days, the instant and
    how comparable the window is; the documents that can compare (`compared`) also select
    the previous window, null as no `compareTo` is sent."""
    zone = _zone(timezone)
    first = (await timer.fetch(FIRST_DAY, account_id, zone.key))[0]["day"]
    before = len(days) if first is None else sum(1 for day in days if day < first)
    start = datetime.combine(days[0], datetime.min.time(), zone)
    end = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), zone)
    return {
        "from": days[0].isoformat(),
        "to": days[-1].isoformat(),
        "asOf": now.isoformat(),
        "timeZone": zone.key,
        "lastDayInProgress": start <= now < end,
        "dataStartsOn": None if first is None else first.isoformat(),
        "shareBeforeData": before / len(days),
        **({"previousWindow": None} if compared else {}),
    }


def _rate(part: int, whole: int) -> Fraction | None:
    return None if whole == 0 else Fraction(part, whole)


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _mean(total: Any, count: int) -> float | None:
    return None if count == 0 else float(total or 0) / count


def _tier(rate: Fraction | None, good: Fraction, warn: Fraction, higher: bool) -> str | None:
    if rate is None:
        return None
    if higher:
        return "GOOD" if rate > good else "WARNING" if rate >= warn else "CRITICAL"
    return "GOOD" if rate < good else "WARNING" if rate <= warn else "CRITICAL"


def _flow_count_tier(count: int) -> str:
    return "GOOD" if count >= 5 else "WARNING" if count >= 1 else "CRITICAL"


class _Domain:
    def __init__(self) -> None:
        self.spellings: dict[str, int] = {}
        self.counts: dict[str, Any] = defaultdict(int)

    def add(self, row: asyncpg.Record) -> None:
        self.spellings[row["spelling"]] = row["n"]
        for name in ("n", "resolved", "escalated", "guided", "timed"):
            self.counts[name] += row[name]
        self.counts["minutes"] += row["minutes"] or 0

    def session_name(self) -> str:
        return min(self.spellings.items(), key=lambda item: (-item[1], item[0]))[0]


def _domain_fields(counts: dict[str, Any]) -> dict[str, Any]:
    n = counts["n"]
    return {
        "sessionCount": n,
        "resolutionRate": _float(_rate(counts["resolved"], n)),
        "escalationRate": _float(_rate(counts["escalated"], n)),
        "guidedRate": _float(_rate(counts["guided"], n)),
        "avgResolutionMinutes": _mean(counts["minutes"], counts["timed"]),
    }


async def _domains(
    timer: Timer, account_id: uuid.UUID, start: datetime, end: datetime, with_usage: bool = False
) -> Any:
    groups = await timer.fetch(SESSION_GROUPS, account_id, start, end)
    if with_usage:
        flows = await timer.fetch(FLOWS_WITH_USAGE, account_id, start, end)
    else:
        flows = await timer.fetch(FLOWS, account_id)
    total = next(row for row in groups if row["total"])
    by_key: dict[str | None, _Domain] = defaultdict(_Domain)
    for row in groups:
        if not row["total"]:
            by_key[row["key"]].add(row)
    flow_names: dict[str, list[str]] = defaultdict(list)
    flows_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in flows:
        if row["key"] is not None:
            flow_names[row["key"]].append(row["spelling"])
            preview: dict[str, Any] = {"flow": {"id": str(row["id"]), "name": row["name"]}}
            if with_usage:
                preview["usageCount"] = row["n"]
            flows_of[row["key"]].append(preview)
    keys = {key for key in by_key if key is not None} | set(flow_names)
    domains = []
    for key in keys:
        domain = by_key.get(key) or _Domain()
        name = min(flow_names[key]) if flow_names[key] else domain.session_name()
        domains.append((key, name, len(flow_names[key]), domain.counts))
    domains.sort(key=lambda item: (-item[3]["n"], item[1]))
    unmapped = by_key[None].counts["n"] if None in by_key else 0
    return total, domains, unmapped, flows_of


async def overview(timer: Timer, account_id: uuid.UUID, period: str, now: datetime) -> Any:
    timezone = (await timer.fetch(TIMEZONE, account_id))[0]["timezone"]
    days, start, end = window(timezone, PERIOD_DAYS[period], now)
    total, domains, _unmapped, _flows = await _domains(timer, account_id, start, end)
    rows = await timer.fetch(OVERVIEW_DAYS, account_id, start, end, _zone(timezone).key)
    by_day = {row["day"]: row for row in rows}
    n = total["n"]
    return {
        "overview": {
            "period": period,
            **await window_fields(timer, account_id, timezone, days, now, compared=True),
            "sessionCount": n,
            "resolvedCount": total["resolved"],
            "escalatedCount": total["escalated"],
            "resolutionRate": _float(_rate(total["resolved"], n)),
            "escalationRate": _float(_rate(total["escalated"], n)),
            "guidedRate": _float(_rate(total["guided"], n)),
            "mttrMinutes": _mean(total["minutes"], total["timed"]),
            "avgRating": _mean(total["rating_sum"], total["rated"]),
            "changes": None,  # the document compares only when $compareTo is sent
            "confidenceTiers": {
                "guided": total["guided"],
                "exploring": total["exploring"],
                "discovery": total["discovery"],
                "unknown": n - total["guided"] - total["exploring"] - total["discovery"],
            },
            "dailyTrend": [
                {
                    "date": day.isoformat(),
                    "sessions": by_day[day]["n"] if day in by_day else 0,
                    "resolved": by_day[day]["resolved"] if day in by_day else 0,
                    "escalated": by_day[day]["escalated"] if day in by_day else 0,
                    "mttrMinutes": (
                        _mean(by_day[day]["minutes"], by_day[day]["timed"])
                        if day in by_day
                        else None
                    ),
                }
                for day in days
            ],
            "domains": [
                {"name": name, **_domain_fields(counts)}
                for _key, name, _flows, counts in domains
                if counts["n"] >= 1
            ],
        }
    }


async def coverage(timer: Timer, account_id: uuid.UUID, period: str, now: datetime) -> Any:
    timezone = (await timer.fetch(TIMEZONE, account_id))[0]["timezone"]
    days, start, end = window(timezone, PERIOD_DAYS[period], now)
    _total, domains, unmapped, flows_of = await _domains(
        timer, account_id, start, end, with_usage=True
    )
    rows = []
    for key, name, flow_count, counts in domains:
        n = counts["n"]
        tiers = {
            "flowCountTier": _flow_count_tier(flow_count),
            "resolutionTier": _tier(
                _rate(counts["resolved"], n), Fraction(3, 4), Fraction(1, 2), True
            ),
            "escalationTier": _tier(
                _rate(counts["escalated"], n), Fraction(1, 10), Fraction(1, 4), False
            ),
            "guidedTier": _tier(_rate(counts["guided"], n), Fraction(3, 5), Fraction(3, 10), True),
        }
        rows.append(
            {
                "name": name,
                "flowCount": flow_count,
                **_domain_fields(counts),
                **tiers,
                "suggestCreateFlow": "CRITICAL" in tiers.values(),
                "flows": flows_of.get(key, [])[:FLOWS_PER_DOMAIN],
            }
        )
    return {
        "coverage": {
            "period": period,
            **await window_fields(timer, account_id, timezone, days, now),
            "totalDomains": len(rows),
            "unmappedSessionCount": unmapped,
            "domains": [{k: v for k, v in row.items()} for row in rows],
            "knowledgeGaps": [
                {
                    key: r[key]
                    for key in (
                        "name",
                        "sessionCount",
                        "flowCount",
                        "resolutionRate",
                        "escalationRate",
                        "guidedRate",
                        "flowCountTier",
                        "resolutionTier",
                        "escalationTier",
                        "guidedTier",
                    )
                }
                for r in rows
                if r["suggestCreateFlow"]
            ],
        }
    }


def _flow_row(row: asyncpg.Record, now: datetime) -> dict[str, Any]:
    n = row["n"]
    success, guided = _rate(row["resolved"], n), _rate(row["guided"], n)
    last = row["last_matched_at"]
    recency = 0.0
    if last is not None:
        recency = min(1.0, max(0.0, 1.0 - (now - last).total_seconds() / 86400 / 90))
    quality = 0.5 * (float(success) if success is not None else 0.0)
    quality += 0.3 * (float(guided) if guided is not None else 0.0) + 0.2 * recency
    reasons = []
    if success is not None and success < Fraction(1, 2):
        reasons.append("LOW_SUCCESS_RATE")
    if last is None or now - last >= timedelta(days=30):
        reasons.append("STALE")
    confidence = row["confidence"]
    return {
        "flow": {
            "id": str(row["id"]),
            "name": row["name"],
            "category": row["category"],
            "status": "DRAFT" if row["status"] == "draft" else "PUBLISHED",
            "totalUsageCount": row["usage_count"],
            "lastMatchedAt": None if last is None else last.isoformat(),
        },
        "usageCount": n,
        "successRate": _float(success),
        "guidedRate": _float(guided),
        "avgConfidence": None if confidence is None else float(confidence),
        "recencyScore": recency,
        "qualityScore": quality,
        "needsAttention": bool(reasons),
        "attentionReasons": reasons,
    }


def _by_quality(flows: list[dict[str, Any]], descending: bool) -> list[dict[str, Any]]:
    ordered = sorted(flows, key=lambda f: (f["flow"]["name"], uuid.UUID(f["flow"]["id"])))
    return sorted(ordered, key=lambda f: f["qualityScore"], reverse=descending)


async def flow_quality(
    timer: Timer, account_id: uuid.UUID, period: str, now: datetime, first: int = 50
) -> Any:
    timezone = (await timer.fetch(TIMEZONE, account_id))[0]["timezone"]
    days, start, end = window(timezone, PERIOD_DAYS[period], now)
    flows = [_flow_row(row, now) for row in await timer.fetch(FLOW_STATS, account_id, start, end)]
    used = [flow for flow in flows if flow["usageCount"] >= 1]
    flagged = _by_quality([f for f in flows if f["needsAttention"]], False)

    def plain(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in f.items() if k != "attentionReasons"} for f in items]

    return {
        "flowQuality": {
            "period": period,
            **await window_fields(timer, account_id, timezone, days, now),
            "totalFlows": len(flows),
            "smallSampleUsage": SMALL_SAMPLE_USAGE,
            "flows": plain(_by_quality(flows, True)[:first]),
            "topPerformers": plain(_by_quality(used, True)[:5]),
            "bottomPerformers": plain(_by_quality(used, False)[:5]),
            "needsAttentionCount": len(flagged),
            "needsAttention": flagged[:ATTENTION_FIRST],
        }
    }


def _rate_or_none(part: int, whole: int) -> float | None:
    return _float(_rate(part, whole))


async def psa(timer: Timer, account_id: uuid.UUID, period: str, now: datetime) -> Any:
    timezone = (await timer.fetch(TIMEZONE, account_id))[0]["timezone"]
    days, start, end = window(timezone, PERIOD_DAYS[period], now)
    rows = await timer.fetch(PSA_DAYS, account_id, start, end, _zone(timezone).key)
    funnel = (await timer.fetch(PSA_FUNNEL, account_id, start, end))[0]
    total = next(row for row in rows if row["total"])
    by_day = {row["day"]: row for row in rows if not row["total"]}
    hours = float(total["hours"])
    return {
        "psaActivity": {
            "period": period,
            **await window_fields(timer, account_id, timezone, days, now, compared=True),
            "totalTimeEntries": total["entries"],
            "totalHoursLogged": hours,
            "avgHoursPerSession": _mean(hours, total["sessions"]),
            "changes": None,  # the document compares only when $compareTo is sent
            "activityCounts": [
                {"type": "TIME_ENTRY_POSTED", "count": total["entries"]},
                {"type": "NOTE_POSTED", "count": total["notes"]},
                {"type": "STATUS_UPDATED", "count": total["status_updates"]},
            ],
            "pushFunnel": {
                "totalSessions": funnel["total"],
                "linkedToTicket": funnel["linked"],
                "docPushed": funnel["doc_pushed"],
                "timeEntryLogged": funnel["time_logged"],
                "linkedRate": _rate_or_none(funnel["linked"], funnel["total"]),
                "docPushedRate": _rate_or_none(funnel["doc_pushed"], funnel["linked"]),
                "timeEntryRate": _rate_or_none(funnel["time_logged"], funnel["doc_pushed"]),
            },
            "dailyTrend": [
                {
                    "date": day.isoformat(),
                    "entries": by_day[day]["entries"] if day in by_day else 0,
                    "hours": float(by_day[day]["hours"]) if day in by_day else 0.0,
                }
                for day in days
            ],
        }
    }


TABS = {"overview": overview, "coverage": coverage, "flow-quality": flow_quality, "psa": psa}


async def run_floor(
    connection: asyncpg.Connection, tab: str, account_id: uuid.UUID, period: str, now: datetime
) -> tuple[Any, float]:
    """The tab's data as the floor computes it, and the seconds its SQL took."""
    timer = Timer(connection)
    data = await TABS[tab](timer, account_id, period, now)
    return data, timer.seconds
