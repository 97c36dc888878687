"""Synthetic rows for one account, deterministic per (seed, account number).

Shape: a few big problem domains (Zipf), a long tail of flows, sessions on weekdays in
the business hours of the account's time zone, log-normal resolution times, about 70%
linked to a PSA ticket, and notes, time entries and status updates for linked sessions
(about two PSA rows per session). Timestamps are integer microseconds since
2000-01-01 UTC (PostgreSQL's epoch), written with a tuple codec so no datetime objects
are built for millions of rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from bench.scales import AccountSpec

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MICROS_PER_DAY = 86_400_000_000
TIMEZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "Asia/Kolkata",
    "UTC",
)
_TOPICS = (
    "Email",
    "VPN",
    "Printers",
    "Active Directory",
    "Password Reset",
    "MFA",
    "Wi-Fi",
    "Backups",
    "Firewall",
    "Microsoft 365",
    "Teams",
    "SharePoint",
    "OneDrive",
    "Outlook",
    "Windows Update",
    "macOS",
    "Mobile Devices",
    "Antivirus",
    "Phishing",
    "DNS",
    "DHCP",
    "Remote Desktop",
    "Citrix",
    "Azure AD",
    "Intune",
    "Licensing",
    "Onboarding",
    "Offboarding",
    "Hardware",
    "Laptops",
    "Monitors",
    "Docking Stations",
    "VoIP",
    "Line of Business Apps",
    "QuickBooks",
    "Browser",
    "File Shares",
    "Permissions",
    "Network Drives",
    "Server Health",
)
_QUALIFIERS = ("", " Issues", " Access", " Performance")
DOMAIN_VOCABULARY = tuple(topic + q for q in _QUALIFIERS for topic in _TOPICS)
SESSION_STATUSES = np.array(
    ["resolved", "escalated", "abandoned", "requesting_escalation", "paused", "active"],
    dtype=object,
)
TIERS = np.array(["guided", "exploring", "discovery", None], dtype=object)
SESSION_TYPES = np.array(["flowpilot", "assistant"], dtype=object)
ACTIVITY_TYPES = np.array(["note_posted", "time_entry_posted", "status_updated"], dtype=object)
ROLES = np.array(["engineer", "team_admin", "admin"], dtype=object)
SESSION_COLUMNS = (
    "id", "account_id", "user_id", "session_type", "problem_domain", "status",
    "confidence_tier", "matched_flow_id", "match_confidence", "started_at", "resolved_at",
    "rating", "psa_ticket_id", "created_at",
)  # fmt: skip
PSA_COLUMNS = (
    "id", "account_id", "session_id", "activity_type", "hours_logged", "psa_ticket_id",
    "provider", "external_id", "created_at",
)  # fmt: skip
TREE_COLUMNS = ("id", "account_id", "name", "category", "status", "created_at")
USER_COLUMNS = ("id", "account_id", "email", "role", "created_at")


def micros(moment: datetime) -> int:
    """Microseconds since PostgreSQL's epoch."""
    return (moment - PG_EPOCH) // timedelta(microseconds=1)


def uuid_text(tag: int, kind: int, number: int) -> str:
    """A readable, unique UUID: scale tag, table kind and a counter (sorted by insert order)."""
    return f"{tag:08x}-{kind:04x}-4000-8000-{number:012x}"


def uuid_range(tag: int, kind: int, start: int, count: int) -> list[str]:
    """`uuid_text` for `count` consecutive numbers (one comprehension, no call per id)."""
    prefix = f"{tag:08x}-{kind:04x}-4000-8000-"
    return [f"{prefix}{number:012x}" for number in range(start, start + count)]


def _zipf_weights(count: int, exponent: float) -> np.ndarray:
    weights: np.ndarray = 1.0 / np.arange(1, count + 1) ** exponent
    normalised: np.ndarray = weights / weights.sum()
    return normalised


def _with_nulls(values: np.ndarray, present: np.ndarray) -> list[Any]:
    column = values.astype(object)
    column[~present] = None
    out: list[Any] = column.tolist()
    return out


@dataclass
class AccountData:
    """The rows of one account, as column lists ready for COPY."""

    account: tuple[Any, ...]
    users: list[tuple[Any, ...]]
    trees: list[tuple[Any, ...]]
    sessions: dict[str, list[Any]]
    activities: dict[str, list[Any]]

    def session_records(self, chunk: int) -> Iterator[list[tuple[Any, ...]]]:
        yield from _chunks(self.sessions, SESSION_COLUMNS, chunk)

    def activity_records(self, chunk: int) -> Iterator[list[tuple[Any, ...]]]:
        yield from _chunks(self.activities, PSA_COLUMNS, chunk)


def _chunks(
    columns: dict[str, list[Any]], order: tuple[str, ...], chunk: int
) -> Iterator[list[tuple[Any, ...]]]:
    total = len(columns[order[0]])
    for start in range(0, total, chunk):
        yield list(zip(*(columns[name][start : start + chunk] for name in order), strict=True))


@dataclass(frozen=True)
class Counters:
    """Where this account's ids start, so ids are unique across the whole dataset."""

    session: int
    activity: int


def generate_account(
    seed: int, number: int, spec: AccountSpec, days: int, last_day: date, counters: Counters,
    tag: int,
) -> AccountData:  # fmt: skip
    """Every row of account `number`; the same inputs always give the same rows."""
    rng = np.random.default_rng([seed, number])
    account_id = uuid_text(tag, 1, number)
    timezone = "America/New_York" if number == 0 else TIMEZONES[number % len(TIMEZONES)]
    created = micros(
        datetime.combine(last_day - timedelta(days=days + 30), datetime.min.time(), UTC)
    )
    account = (account_id, f"Bench MSP {number:03d}", timezone, created)

    n_users = int(min(300, max(3, spec.sessions // 2000)))
    user_ids = np.array(uuid_range(tag, 2, number * 1000, n_users), dtype=object)
    roles = ROLES[rng.choice(3, n_users, p=[0.8, 0.15, 0.05])]
    users = [
        (user_ids[i], account_id, f"user{i}@msp{number:03d}.example", roles[i], created)
        for i in range(n_users)
    ]

    # Domains: a sample of the vocabulary; a few have no flows (knowledge gaps).
    n_domains = min(spec.domains, len(DOMAIN_VOCABULARY))
    domains = np.array(
        rng.choice(np.array(DOMAIN_VOCABULARY, dtype=object), n_domains, replace=False),
        dtype=object,
    )
    domain_weights = _zipf_weights(n_domains, 1.0)
    covered = np.ones(n_domains, dtype=bool)
    covered[3:] = rng.random(n_domains - 3) > 0.15
    flow_domain_p = domain_weights * covered
    flow_domain_p /= flow_domain_p.sum()

    n_flows = spec.flows
    flow_ids = np.array([*uuid_range(tag, 3, number * 10_000, n_flows), None], dtype=object)
    flow_domain = rng.choice(n_domains, n_flows, p=flow_domain_p)
    spelling = rng.random(n_flows)
    categories = []
    for i in range(n_flows):
        name = domains[flow_domain[i]]
        if spelling[i] < 0.05:
            name = name.lower()
        elif spelling[i] < 0.08:
            name = f" {name} "
        elif spelling[i] < 0.10:
            name = name.replace(" ", "  ", 1)
        categories.append(name)
    flow_status = np.array(["published", "draft", "archived"], dtype=object)[
        rng.choice(3, n_flows, p=[0.85, 0.08, 0.07])
    ]
    flow_quality = rng.beta(6, 2.5, n_flows)
    trees = [
        (flow_ids[i], account_id, f"{domains[flow_domain[i]]} flow {i:04d}", categories[i],
         flow_status[i], created)
        for i in range(n_flows)
    ]  # fmt: skip

    # Sessions.
    n = spec.sessions
    matched = rng.random(n) < 0.75
    flow_popularity = _zipf_weights(n_flows, 0.8)[rng.permutation(n_flows)]
    flow_index = np.where(matched, rng.choice(n_flows, n, p=flow_popularity), n_flows)
    domain_index = rng.choice(n_domains, n, p=domain_weights)
    follows_flow = matched & (rng.random(n) < 0.9)
    domain_index = np.where(
        follows_flow, flow_domain[np.minimum(flow_index, n_flows - 1)], domain_index
    )
    lowered = np.array([name.lower() for name in domains], dtype=object)
    variant = rng.random(n)
    domain_text = np.where(variant < 0.03, lowered[domain_index], domains[domain_index])
    domain_text[variant > 0.95] = None
    domain_text[(variant > 0.94) & (variant <= 0.95)] = "  "

    quality = np.where(matched, flow_quality[np.minimum(flow_index, n_flows - 1)], 0.45)
    u = rng.random(n)
    unresolved_share = np.array([0.0, 0.45, 0.75, 0.85, 0.93, 1.0])
    status_index = np.where(
        u < quality,
        0,
        1 + np.searchsorted(unresolved_share[1:], (u - quality) / (1 - quality + 1e-12)),
    )
    status_index = np.minimum(status_index, 5)
    tier_p = np.where(matched, 0.55, 0.2)
    t = rng.random(n)
    tier_index = np.where(t < tier_p, 0, np.where(t < tier_p + 0.25, 1, np.where(t < 0.95, 2, 3)))
    confidence = np.where(matched, rng.beta(5, 2, n), rng.beta(2, 4, n))
    has_confidence = matched | (rng.random(n) < 0.5)

    zone = ZoneInfo(timezone)
    first_day = last_day - timedelta(days=days - 1)
    day_midnight = np.empty(days, dtype=np.int64)
    day_weight = np.empty(days)
    for d in range(days):
        day = first_day + timedelta(days=d)
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=zone)
        offset = noon.utcoffset() or timedelta(0)
        naive = micros(datetime(day.year, day.month, day.day, tzinfo=UTC))
        day_midnight[d] = naive - offset // timedelta(microseconds=1)
        day_weight[d] = (0.25 if day.weekday() >= 5 else 1.0) * (0.8 + 0.4 * d / days)
    day_index = rng.choice(days, n, p=day_weight / day_weight.sum())
    hours = np.clip(rng.normal(13.0, 2.6, n), 0.0, 23.999)
    started = day_midnight[day_index] + (hours * 3_600_000_000).astype(np.int64)
    order = np.argsort(started, kind="stable")
    resolution_minutes = rng.lognormal(np.log(18.0), 0.9, n)
    resolved = status_index == 0
    has_resolved_at = resolved & (rng.random(n) < 0.97)
    resolved_at = started + (resolution_minutes * 60_000_000).astype(np.int64)
    rated = rng.random(n) < 0.4
    rating = rng.choice(5, n, p=[0.05, 0.07, 0.15, 0.35, 0.38]) + 1
    linked = rng.random(n) < 0.7
    session_type = (rng.random(n) < 0.08).astype(np.int64)
    user_index = rng.integers(0, n_users, n)
    has_user = rng.random(n) < 0.95

    # Sessions go in start order, so ids and the primary key grow together.
    fields = {
        "flow": flow_index[order], "domain": domain_text[order], "status": status_index[order],
        "tier": tier_index[order], "confidence": confidence[order],
        "has_confidence": has_confidence[order], "started": started[order],
        "resolved_at": resolved_at[order], "has_resolved_at": has_resolved_at[order],
        "rated": rated[order], "rating": rating[order], "linked": linked[order],
        "type": session_type[order], "user": user_index[order], "has_user": has_user[order],
    }  # fmt: skip
    session_ids = uuid_range(tag, 4, counters.session, n)
    tickets = np.array(list(map(str, range(200_000, 200_000 + n))), dtype=object)
    ticket_column = _with_nulls(tickets, fields["linked"])
    started_list = fields["started"].tolist()
    sessions = {
        "id": session_ids,
        "account_id": [account_id] * n,
        "user_id": _with_nulls(user_ids[fields["user"]], fields["has_user"]),
        "session_type": SESSION_TYPES[fields["type"]].tolist(),
        "problem_domain": fields["domain"].tolist(),
        "status": SESSION_STATUSES[fields["status"]].tolist(),
        "confidence_tier": TIERS[fields["tier"]].tolist(),
        "matched_flow_id": flow_ids[fields["flow"]].tolist(),
        "match_confidence": _with_nulls(
            np.round(fields["confidence"], 4), fields["has_confidence"]
        ),
        "started_at": started_list,
        "resolved_at": _with_nulls(fields["resolved_at"], fields["has_resolved_at"]),
        "rating": _with_nulls(fields["rating"], fields["rated"]),
        "psa_ticket_id": ticket_column,
        "created_at": started_list,
    }

    # PSA activity: notes, time entries and status updates of linked sessions.
    linked_rows = np.flatnonzero(fields["linked"])
    m = len(linked_rows)
    notes = np.where(rng.random(m) < 0.9, 1 + (rng.random(m) < 0.35), 0)
    times = np.where((notes > 0) & (rng.random(m) < 0.85), 1 + (rng.random(m) < 0.3), 0)
    statuses = (rng.random(m) < 0.7).astype(np.int64)
    per_type = [notes, times, statuses]
    owner = np.concatenate([np.repeat(linked_rows, counts) for counts in per_type])
    kind = np.concatenate([np.full(int(c.sum()), k) for k, c in enumerate(per_type)])
    k = len(owner)
    delay = rng.lognormal(np.log(25.0), 1.0, k) * 60_000_000
    created_at = fields["started"][owner] + delay.astype(np.int64)
    hours_logged = np.maximum(0.25, np.round(rng.lognormal(np.log(0.5), 0.6, k) * 4) / 4)
    has_hours = (kind == 1) & (rng.random(k) < 0.97)
    activity_order = np.argsort(created_at, kind="stable")
    owner, kind, created_at = (
        owner[activity_order],
        kind[activity_order],
        created_at[activity_order],
    )
    hours_logged, has_hours = hours_logged[activity_order], has_hours[activity_order]
    session_id_array = np.array(session_ids, dtype=object)
    activities = {
        "id": uuid_range(tag, 5, counters.activity, k),
        "account_id": [account_id] * k,
        "session_id": session_id_array[owner].tolist(),
        "activity_type": ACTIVITY_TYPES[kind].tolist(),
        "hours_logged": _with_nulls(hours_logged, has_hours),
        "psa_ticket_id": tickets[owner].tolist(),
        "provider": ["connectwise"] * k,
        "external_id": [f"{i:010d}" for i in range(counters.activity, counters.activity + k)],
        "created_at": created_at.tolist(),
    }
    return AccountData(account, users, trees, sessions, activities)
