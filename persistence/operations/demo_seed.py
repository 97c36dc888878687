"""A realistic demo MSP, so every tab of the analytics page has something to show.

"Northwind IT Services" (America/New_York): a team admin, an admin, ten engineers;
40 flows over six domains (two domains have none, a few flows are drafts or archived,
two have no category); 5,000 FlowPilot sessions in business hours over the last 120
days with domain spelling variants; assistant sessions (which analytics ignore); and
the PSA pushes of the linked sessions. The same seed (and `now`) always gives the same
rows, ids included. The flows' lifetime counters are computed from the sessions as
METRICS.md defines them, so the totals agree with the period figures.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

DEMO_ACCOUNT_ID = uuid.UUID("6e0f1d2c-3b4a-4c5d-8e9f-0a1b2c3d4e5f")
DEMO_TEAM_ADMIN_ID = uuid.UUID("7a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d")
DEMO_ADMIN_ID = uuid.UUID("8b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e")
DEMO_ACCOUNT_NAME = "Northwind IT Services"
DEMO_TIMEZONE = "America/New_York"

FLOWPILOT_SESSIONS = 5000
ASSISTANT_SESSIONS = 800
HISTORY_DAYS = 120
SUCCESS_WINDOW_DAYS = 90  # METRICS.md, "Lifetime counters on flows"
_EMAIL_DOMAIN = "northwind-it.example"


@dataclass(frozen=True)
class DemoSummary:
    """What the demo account holds after `seed_demo` (created now or found already)."""

    created: bool
    account_id: uuid.UUID
    users: int
    flows: int
    flowpilot_sessions: int
    assistant_sessions: int
    psa_activities: int
    seconds: float = 0.0

    def describe(self) -> str:
        counts = (
            f"{self.users} users, {self.flows} flows, {self.flowpilot_sessions} FlowPilot "
            f"sessions, {self.assistant_sessions} assistant sessions, "
            f"{self.psa_activities} PSA activities"
        )
        if self.created:
            return f"seeded demo account {DEMO_ACCOUNT_NAME!r} in {self.seconds:.1f}s: {counts}"
        return f"demo account {DEMO_ACCOUNT_NAME!r} already present, nothing seeded ({counts})"


# --- the shape of the demo MSP ---------------------------------------------------------


@dataclass(frozen=True)
class FlowSpec:
    name: str
    category: str | None
    status: str = "published"
    created_days_ago: int = 300
    success: float | None = None  # resolution chance when matched; None: the domain's
    idle_days: int = 0  # not matched in the most recent `idle_days` (stale flows)
    never_matched: bool = False


@dataclass(frozen=True)
class DomainSpec:
    key: str
    spellings: tuple[tuple[str | None, int], ...]  # session problem_domain, weight
    share: float  # of FlowPilot sessions
    resolve: float
    escalate: float
    guided: float
    match: float  # chance a session is matched to one of the domain's flows
    minutes: float  # median minutes to resolve
    flows: tuple[FlowSpec, ...] = field(default_factory=tuple)


AD, M365, NET, PRN, MAIL, VPN = (
    "Active Directory",
    "Microsoft 365",
    "Networking",
    "Printers",
    "Email / Exchange",
    "VPN",
)

DOMAINS: tuple[DomainSpec, ...] = (
    DomainSpec(
        AD,
        ((AD, 80), ("active directory", 10), (" Active  Directory ", 5), ("ACTIVE DIRECTORY", 5)),
        0.24,
        0.86,
        0.05,
        0.72,
        0.85,
        14,
        (
            FlowSpec("AD Password Reset", AD, success=0.95),
            FlowSpec("AD Account Lockout", AD),
            FlowSpec("AD Group Membership Change", AD),
            FlowSpec("New User Onboarding", AD),
            FlowSpec("User Offboarding", "active directory"),
            FlowSpec("AD Replication Errors", AD, success=0.6),
            FlowSpec("Group Policy Not Applying", AD),
            FlowSpec("Domain Join Failure", AD, idle_days=40),
            FlowSpec("Kerberos Time Skew", AD, status="archived", idle_days=70),
            FlowSpec("Service Account Password Expiry", AD, status="draft", created_days_ago=6),
        ),
    ),
    DomainSpec(
        M365,
        ((M365, 75), ("microsoft 365", 10), ("M365", 15)),
        0.16,
        0.58,
        0.28,
        0.27,
        0.6,
        31,
        (
            FlowSpec("M365 License Assignment", M365),
            FlowSpec("Teams Call Quality", M365, success=0.35),
            FlowSpec("OneDrive Sync Issues", M365),
            FlowSpec("SharePoint Permission Request", M365),
            FlowSpec("MFA Enrollment Reset", M365, created_days_ago=21),
            FlowSpec("Intune Device Enrollment", M365, success=0.45),
            FlowSpec("Teams Meeting Recording Missing", M365, status="archived", idle_days=75),
        ),
    ),
    DomainSpec(
        NET,
        ((NET, 90), ("networking", 10)),
        0.14,
        0.70,
        0.14,
        0.48,
        0.7,
        26,
        (
            FlowSpec("Wi-Fi Connectivity Drop", NET),
            FlowSpec("DHCP Scope Exhausted", NET),
            FlowSpec("DNS Resolution Failure", NET),
            FlowSpec("Switch Port Down", NET),
            FlowSpec("Firewall Rule Request", NET, never_matched=True),
            FlowSpec("Slow Network Performance", NET, success=0.4),
            FlowSpec("ISP Outage Triage", NET, status="draft", created_days_ago=3),
        ),
    ),
    DomainSpec(
        PRN,
        ((PRN, 85), ("printers ", 15)),
        0.09,
        0.82,
        0.07,
        0.65,
        0.8,
        12,
        (
            FlowSpec("Printer Offline", PRN),
            FlowSpec("Print Spooler Crash", PRN),
            FlowSpec("Scan to Email Failing", PRN),
            FlowSpec("Printer Driver Deployment", PRN, never_matched=True),
            FlowSpec("Paper Jam / Hardware Fault", PRN, status="archived", idle_days=90),
        ),
    ),
    DomainSpec(
        MAIL,
        ((MAIL, 85), ("email / exchange", 10), ("Email  /  Exchange", 5)),
        0.13,
        0.74,
        0.11,
        0.55,
        0.75,
        19,
        (
            FlowSpec("Outlook Profile Rebuild", MAIL),
            FlowSpec("Mailbox Full", "Email / Exchange "),
            FlowSpec("Shared Mailbox Access", MAIL),
            FlowSpec("Email Delivery Delay", MAIL),
            FlowSpec("Phishing Report Triage", MAIL),
            FlowSpec("Exchange Online Migration", MAIL, status="draft", created_days_ago=12),
        ),
    ),
    DomainSpec(
        VPN,
        ((VPN, 90), ("vpn", 10)),
        0.08,
        0.55,
        0.20,
        0.35,
        0.55,
        24,
        (
            FlowSpec("VPN Client Won't Connect", VPN, success=0.42),
            FlowSpec("VPN Certificate Expired", VPN),
            FlowSpec("Split Tunnel Config", VPN, status="draft", created_days_ago=9),
        ),
    ),
    DomainSpec(
        "Backup & DR", (("Backup & DR", 90), ("backup & dr", 10)), 0.05, 0.45, 0.35, 0.15, 0, 48
    ),
    DomainSpec("Endpoint Security", (("Endpoint Security", 1),), 0.06, 0.50, 0.30, 0.20, 0, 35),
    # Sessions the classifier could not place (no domain key); sometimes the triage flow.
    DomainSpec(
        "",
        ((None, 80), ("", 10), ("   ", 10)),
        0.05,
        0.40,
        0.25,
        0.10,
        0.3,
        30,
        (
            FlowSpec("General Triage Checklist", None),
            FlowSpec("Hardware Replacement Request", None, never_matched=True),
        ),
    ),
)

ENGINEERS = (
    "alex.rivera",
    "priya.natarajan",
    "marcus.chen",
    "sofia.lindqvist",
    "jamal.okafor",
    "emily.tran",
    "diego.morales",
    "hannah.kowalski",
    "owen.fitzgerald",
    "leila.haddad",
)


# --- generation (pure, deterministic) ---------------------------------------------------


@dataclass
class DemoRows:
    """The rows to insert, as tuples in the column order of the INSERT statements."""

    users: list[tuple[Any, ...]] = field(default_factory=list)
    trees: list[tuple[Any, ...]] = field(default_factory=list)
    sessions: list[tuple[Any, ...]] = field(default_factory=list)
    activities: list[tuple[Any, ...]] = field(default_factory=list)


class _Generator:
    def __init__(self, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.zone = ZoneInfo(DEMO_TIMEZONE)
        self.today: date = now.astimezone(self.zone).date()

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def pick(self, options: Sequence[tuple[Any, float]]) -> Any:
        values = [value for value, _ in options]
        weights = [weight for _, weight in options]
        return self.rng.choices(values, weights)[0]

    def started_at(self, day_weights: list[float]) -> tuple[datetime, int]:
        """A start in the account's business hours (mostly), never in the future."""
        while True:
            days_ago = self.rng.choices(range(HISTORY_DAYS), day_weights)[0]
            local_day = self.today - timedelta(days=days_ago)
            if self.rng.random() < 0.06:
                minute = self.rng.uniform(0, 24 * 60)  # after-hours emergencies
            else:
                minute = 8 * 60 + self.rng.triangular(0, 10 * 60, 2 * 60)
            local = datetime(local_day.year, local_day.month, local_day.day, tzinfo=self.zone)
            moment = (local + timedelta(minutes=minute)).astimezone(UTC)
            moment = moment.replace(microsecond=0)
            if moment < self.now - timedelta(minutes=2):
                return moment, days_ago

    def day_weights(self) -> list[float]:
        weights = []
        for days_ago in range(HISTORY_DAYS):
            day = self.today - timedelta(days=days_ago)
            growth = 0.8 + 0.4 * (HISTORY_DAYS - days_ago) / HISTORY_DAYS
            weights.append(growth * (0.15 if day.weekday() >= 5 else 1.0))
        return weights


def generate(seed: int = 7, now: datetime | None = None) -> DemoRows:
    """All demo rows for `seed`, with times relative to `now` (default: the current time)."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    gen = _Generator(seed, now)
    rng = gen.rng
    rows = DemoRows()

    # Users: the team admin and admin have fixed ids (tokens and docs name them).
    people: list[tuple[uuid.UUID, float]] = []
    created = now - timedelta(days=400)
    rows.users.append(
        (DEMO_TEAM_ADMIN_ID, f"dana.whitfield@{_EMAIL_DOMAIN}", "team_admin", created)
    )
    rows.users.append((DEMO_ADMIN_ID, f"sam.patel@{_EMAIL_DOMAIN}", "admin", created))
    people += [(DEMO_TEAM_ADMIN_ID, 4.0), (DEMO_ADMIN_ID, 1.5)]
    for index, handle in enumerate(ENGINEERS):
        engineer_id = gen.uuid()
        joined = now - timedelta(days=380 - 30 * index)
        rows.users.append((engineer_id, f"{handle}@{_EMAIL_DOMAIN}", "engineer", joined))
        people.append((engineer_id, rng.uniform(5, 14)))

    # Flows.
    flows: list[tuple[uuid.UUID, FlowSpec, DomainSpec, datetime]] = []
    for domain in DOMAINS:
        for spec in domain.flows:
            flow_created = now - timedelta(days=spec.created_days_ago, hours=rng.uniform(0, 20))
            flows.append((gen.uuid(), spec, domain, flow_created.replace(microsecond=0)))
    by_domain = {
        domain.key: [flow for flow in flows if flow[2] is domain and flow[1].status != "draft"]
        for domain in DOMAINS
    }

    day_weights = gen.day_weights()
    ticket = 418_220
    recent_tickets: list[str] = []
    external = {"note_posted": 3_100_000, "time_entry_posted": 7_200_000, "status_updated": 910_000}
    matches: dict[uuid.UUID, list[tuple[datetime, str]]] = {flow[0]: [] for flow in flows}

    def activity(session_id: uuid.UUID | None, kind: str, ticket_id: str, at: datetime) -> None:
        if at > now:
            return
        hours = None
        if kind == "time_entry_posted" and rng.random() > 0.01:
            raw = min(8.0, max(0.25, rng.lognormvariate(math.log(0.9), 0.6)))
            hours = round(raw * 4) / 4
        external[kind] += rng.randint(1, 9)
        rows.activities.append(
            (gen.uuid(), session_id, kind, hours, ticket_id, "connectwise", str(external[kind]), at)
        )

    for _ in range(FLOWPILOT_SESSIONS):
        domain = gen.pick([(domain, domain.share) for domain in DOMAINS])
        spelling = gen.pick(domain.spellings)
        started, days_ago = gen.started_at(day_weights)
        user_id = None if rng.random() < 0.01 else gen.pick(people)

        # Matching: only flows that existed then and are not idle over that stretch.
        candidates = [
            flow
            for flow in by_domain[domain.key]
            if not flow[1].never_matched and flow[3] < started and days_ago >= flow[1].idle_days
        ]
        flow = None
        if candidates and rng.random() < domain.match:
            weights = [1 / (rank + 1) ** 0.9 for rank in range(len(candidates))]
            flow = rng.choices(candidates, weights)[0]

        guided_chance = domain.guided + 0.1 if flow else domain.guided * 0.4
        roll = rng.random()
        if roll < 0.03:
            tier = None
        elif roll < 0.03 + guided_chance * 0.97:
            tier = "guided"
        else:
            tier = "exploring" if rng.random() < 0.55 else "discovery"
        if flow is not None:
            low, high = {"guided": (0.8, 0.99), "exploring": (0.55, 0.85)}.get(
                tier or "", (0.4, 0.65)
            )
            confidence: float | None = round(rng.uniform(low, high), 3)
        else:
            confidence = None if rng.random() < 0.5 else round(rng.uniform(0.05, 0.39), 3)

        resolve = domain.resolve
        if flow is not None:
            resolve = flow[1].success if flow[1].success is not None else min(0.97, resolve + 0.05)
        elif domain.match:
            resolve = max(0.2, resolve - 0.1)
        roll = rng.random()
        if started > now - timedelta(hours=3) and roll < 0.5:
            status = "active" if rng.random() < 0.8 else "paused"
        elif roll < resolve:
            status = "resolved"
        elif roll < resolve + domain.escalate:
            status = "escalated"
        else:
            status = gen.pick(
                [("abandoned", 60), ("requesting_escalation", 15), ("paused", 10), ("active", 15)]
            )

        resolved_at = None
        if status == "resolved" and rng.random() > 0.015:
            minutes = rng.lognormvariate(math.log(domain.minutes), 0.65)
            resolved_at = (started + timedelta(minutes=minutes)).replace(microsecond=0)
            if resolved_at > now:
                status, resolved_at = "active", None

        rating = None
        if status == "resolved" and rng.random() < 0.18:
            rating = gen.pick([(5, 50), (4, 30), (3, 12), (2, 5), (1, 3)])
        elif status == "escalated" and rng.random() < 0.1:
            rating = gen.pick([(1, 30), (2, 35), (3, 25), (4, 10)])

        ticket_id = None
        if rng.random() < 0.7:
            if recent_tickets and rng.random() < 0.04:
                ticket_id = rng.choice(recent_tickets[-30:])
            else:
                ticket += rng.randint(1, 3)
                ticket_id = str(ticket)
                recent_tickets.append(ticket_id)

        session_id = gen.uuid()
        rows.sessions.append(
            (
                session_id,
                user_id,
                "flowpilot",
                spelling,
                status,
                tier,
                flow[0] if flow else None,
                confidence,
                started,
                resolved_at,
                rating,
                ticket_id,
                started,
            )
        )
        if flow is not None:
            matches[flow[0]].append((started, status))

        # PSA pushes of the linked session.
        if ticket_id is None or status in {"active", "paused"}:
            continue
        done = resolved_at or started + timedelta(minutes=rng.lognormvariate(math.log(25), 0.6))
        chances = {
            "resolved": (0.88, 0.62, 0.15, 0.7),
            "escalated": (0.8, 0.35, 0.1, 0.9),
        }.get(status, (0.3, 0.2, 0.05, 0.4))
        note_p, time_with_note_p, time_alone_p, status_p = chances
        at = (done + timedelta(minutes=rng.uniform(0.5, 6))).replace(microsecond=0)
        noted = rng.random() < note_p
        if noted:
            activity(session_id, "note_posted", ticket_id, at)
        if rng.random() < (time_with_note_p if noted else time_alone_p):
            activity(session_id, "time_entry_posted", ticket_id, at + timedelta(seconds=20))
        if rng.random() < status_p:
            activity(session_id, "status_updated", ticket_id, at + timedelta(seconds=40))

    # Time entered by hand in the PSA against FlowPilot tickets, with no session.
    for _ in range(60):
        started, _days = gen.started_at(day_weights)
        activity(None, "time_entry_posted", str(rng.randint(400_000, 418_000)), started)

    # Assistant sessions: the other product feature; analytics must leave them out.
    for _ in range(ASSISTANT_SESSIONS):
        domain = gen.pick([(domain, domain.share) for domain in DOMAINS])
        started, _days = gen.started_at(day_weights)
        status = gen.pick([("resolved", 70), ("abandoned", 25), ("active", 5)])
        resolved_at = None
        if status == "resolved":
            resolved_at = (started + timedelta(minutes=rng.uniform(1, 15))).replace(microsecond=0)
            if resolved_at > now:
                status, resolved_at = "active", None
        rows.sessions.append(
            (
                gen.uuid(),
                gen.pick(people),
                "assistant",
                gen.pick(domain.spellings),
                status,
                None,
                None,
                None,
                started,
                resolved_at,
                None,
                None,
                started,
            )
        )

    # Lifetime counters, as the product keeps them (METRICS.md).
    window_start = now - timedelta(days=SUCCESS_WINDOW_DAYS)
    for flow_id, spec, _domain, flow_created in flows:
        matched = matches[flow_id]
        recent = [status for started, status in matched if started >= window_start]
        success = (
            sum(1 for status in recent if status == "resolved") / len(recent) if recent else None
        )
        last = max((started for started, _ in matched), default=None)
        rows.trees.append(
            (
                flow_id,
                spec.name,
                spec.category,
                spec.status,
                flow_created,
                len(matched),
                success,
                last,
            )
        )
    return rows


# --- writing ----------------------------------------------------------------------------

# table -> (columns with their PostgreSQL types), in the order of the DemoRows tuples.
_COLUMNS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "users": (
        "users",
        (("id", "uuid"), ("email", "text"), ("role", "text"), ("created_at", "timestamptz")),
    ),
    "trees": (
        "trees",
        (
            ("id", "uuid"),
            ("name", "text"),
            ("category", "text"),
            ("status", "text"),
            ("created_at", "timestamptz"),
            ("usage_count", "integer"),
            ("success_rate", "double precision"),
            ("last_matched_at", "timestamptz"),
        ),
    ),
    "sessions": (
        "ai_sessions",
        (
            ("id", "uuid"),
            ("user_id", "uuid"),
            ("session_type", "text"),
            ("problem_domain", "text"),
            ("status", "text"),
            ("confidence_tier", "text"),
            ("matched_flow_id", "uuid"),
            ("match_confidence", "double precision"),
            ("started_at", "timestamptz"),
            ("resolved_at", "timestamptz"),
            ("rating", "smallint"),
            ("psa_ticket_id", "text"),
            ("created_at", "timestamptz"),
        ),
    ),
    "activities": (
        "psa_activity_log",
        (
            ("id", "uuid"),
            ("session_id", "uuid"),
            ("activity_type", "text"),
            ("hours_logged", "double precision"),
            ("psa_ticket_id", "text"),
            ("provider", "text"),
            ("external_id", "text"),
            ("created_at", "timestamptz"),
        ),
    ),
}


def _bulk_insert(table: str, columns: tuple[tuple[str, str], ...]) -> str:
    """One INSERT of whole columns as arrays: a single round trip per table.

    (COPY would refuse: it is not supported where row-level security applies.)
    """
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"${index}::{kind}[]" for index, (_, kind) in enumerate(columns, 1))
    account = len(columns) + 1
    return (
        f"INSERT INTO {table} ({names}, account_id) "
        f"SELECT *, ${account}::uuid FROM unnest({arrays})"
    )


_COUNTS = text(
    """
    SELECT
      (SELECT count(*) FROM users WHERE account_id = :id),
      (SELECT count(*) FROM trees WHERE account_id = :id),
      (SELECT count(*) FROM ai_sessions WHERE account_id = :id AND session_type = 'flowpilot'),
      (SELECT count(*) FROM ai_sessions WHERE account_id = :id AND session_type = 'assistant'),
      (SELECT count(*) FROM psa_activity_log WHERE account_id = :id)
    """
)


async def _write(connection: AsyncConnection, rows: DemoRows, now: datetime) -> None:
    await connection.execute(
        text(
            "INSERT INTO accounts (id, name, timezone, created_at) "
            "VALUES (:id, :name, :timezone, :created_at)"
        ),
        {
            "id": DEMO_ACCOUNT_ID,
            "name": DEMO_ACCOUNT_NAME,
            "timezone": DEMO_TIMEZONE,
            "created_at": now - timedelta(days=420),
        },
    )
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection  # asyncpg, inside the same transaction
    assert driver is not None
    for attribute, (table, columns) in _COLUMNS.items():
        records: list[tuple[Any, ...]] = getattr(rows, attribute)
        arrays = [list(values) for values in zip(*records, strict=True)]
        await driver.execute(_bulk_insert(table, columns), *arrays, DEMO_ACCOUNT_ID)


async def _seed(connection: AsyncConnection, seed: int, now: datetime | None) -> DemoSummary:
    began = time.perf_counter()
    # RLS is forced on every table: even the owner sees and writes only the bound account.
    await connection.execute(
        text("SELECT set_config('app.current_account_id', :id, true)"),
        {"id": str(DEMO_ACCOUNT_ID)},
    )
    present = await connection.execute(
        text("SELECT 1 FROM accounts WHERE id = :id"), {"id": DEMO_ACCOUNT_ID}
    )
    created = present.scalar_one_or_none() is None
    if created:
        moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        await _write(connection, generate(seed, moment), moment)
    users, flows, flowpilot, assistant, activities = (
        await connection.execute(_COUNTS, {"id": DEMO_ACCOUNT_ID})
    ).one()
    return DemoSummary(
        created=created,
        account_id=DEMO_ACCOUNT_ID,
        users=users,
        flows=flows,
        flowpilot_sessions=flowpilot,
        assistant_sessions=assistant,
        psa_activities=activities,
        seconds=time.perf_counter() - began,
    )


async def seed_demo(
    target: AsyncEngine | async_sessionmaker[AsyncSession],
    seed: int = 7,
    *,
    now: datetime | None = None,
) -> DemoSummary:
    """Insert the demo account in one transaction, unless it is already there.

    Run it as the schema owner or a superuser (the application role may not insert
    accounts). `now` pins the clock the history is relative to (tests).
    """
    if isinstance(target, AsyncEngine):
        async with target.begin() as connection:
            return await _seed(connection, seed, now)
    async with target() as session, session.begin():
        return await _seed(await session.connection(), seed, now)
