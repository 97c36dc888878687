"""A random account for the evidence tests, and paging through an evidence list."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.metrics.window import local_midnight, zone_or_utc
from persistence.models import AiSession, PsaActivityLog
from persistence.tenancy import account_transaction
from tests.graphql_client import ApiClient
from tests.tabs.support import Tenant, new_tenant

ZONE = "America/New_York"
SPELLINGS = (
    "Email",
    " email ",
    "E-MAIL",
    "Network",
    "network  ",
    "VPN",
    "Printers",
    "",
    "   ",
    None,
)
STATUSES = ("active", "resolved", "resolved", "escalated", "abandoned")
TIERS = (None, "discovery", "exploring", "guided", "guided")
TICKETS = (None, "", "  ", "T-1", "T-2", "T-3")
KINDS = ("time_entry_posted", "note_posted", "status_updated")

SESSION_PAGE = """
query ($filter: EvidenceFilter, $period: Period, $range: DateRangeInput, $first: Int!,
       $after: String) {
  sessionEvidence(filter: $filter, period: $period, range: $range, first: $first,
                  after: $after) {
    from to totalCount
    nodes { id startedAt status problemDomain domainKey confidenceTier matchedFlowId
            resolutionMinutes psaTicketId pushes { id type } }
    pageInfo { endCursor hasNextPage }
  }
}
"""
ACTIVITY_PAGE = """
query ($type: PsaActivityType, $day: Date, $period: Period, $range: DateRangeInput,
       $first: Int!, $after: String) {
  psaActivityEvidence(type: $type, day: $day, period: $period, range: $range, first: $first,
                      after: $after) {
    totalCount
    nodes { id type createdAt }
    pageInfo { endCursor hasNextPage }
  }
}
"""


@dataclass
class RandomAccount:
    tenant: Tenant
    flow_ids: list[uuid.UUID] = field(default_factory=list)
    session_ids: list[uuid.UUID] = field(default_factory=list)


def _instant(rng: random.Random, now: datetime) -> datetime:
    """Within the last 100 days, often exactly at (or a microsecond around) a local
    midnight, never in the future."""
    moment = now - timedelta(seconds=rng.uniform(60, 100 * 86400))
    if rng.random() < 0.25:
        zone = zone_or_utc(ZONE)
        midnight = local_midnight(moment.astimezone(zone).date(), zone)
        moment = min(midnight + timedelta(microseconds=rng.choice((-1, 0, 1))), moment)
    return moment


async def random_account(
    sessionmaker: async_sessionmaker[AsyncSession], seed: int, now: datetime, sessions: int = 260
) -> RandomAccount:
    rng = random.Random(seed)
    account = RandomAccount(await new_tenant(sessionmaker, ZONE))
    builder = account.tenant.builder
    for index, category in enumerate(("Email", "email", "VPN", "Active Directory", None)):
        status = "archived" if index == 4 else "published"
        account.flow_ids.append(await builder.flow(f"flow {index}", category, status=status))
    rows = []
    started: dict[uuid.UUID, datetime] = {}
    for _ in range(sessions):
        session_id = uuid.uuid4()
        status = rng.choice(STATUSES)
        start = _instant(rng, now)
        started[session_id] = start
        resolved_at = None
        if status == "resolved" and rng.random() < 0.85:
            resolved_at = start + timedelta(minutes=rng.uniform(1, 600))
        rows.append(
            {
                "id": session_id,
                "account_id": builder.account_id,
                "session_type": "flowpilot" if rng.random() < 0.9 else "assistant",
                "problem_domain": rng.choice(SPELLINGS),
                "status": status,
                "confidence_tier": rng.choice(TIERS),
                "matched_flow_id": rng.choice([None, None, *account.flow_ids]),
                "match_confidence": None if rng.random() < 0.2 else rng.random(),
                "started_at": start,
                "resolved_at": resolved_at,
                "rating": None if rng.random() < 0.4 else rng.randint(1, 5),
                "psa_ticket_id": rng.choice(TICKETS),
            }
        )
        account.session_ids.append(session_id)
    async with account_transaction(sessionmaker, builder.account_id) as session:
        await session.execute(insert(AiSession).values(rows))
    activities = []
    for _ in range(sessions):
        pushed_for = rng.choice(account.session_ids) if rng.random() < 0.9 else None
        kind = rng.choice(KINDS)
        created = _instant(rng, now)
        if pushed_for is not None and rng.random() < 0.7:
            created = min(started[pushed_for] + timedelta(hours=rng.uniform(0, 72)), now)
        activities.append(
            {
                "id": uuid.uuid4(),
                "account_id": builder.account_id,
                "session_id": pushed_for,
                "activity_type": kind,
                "hours_logged": rng.choice((None, 0.25, 1.5))
                if kind == "time_entry_posted"
                else None,
                "psa_ticket_id": "T-1",
                "external_id": uuid.uuid4().hex,
                "created_at": created,
            }
        )
    async with account_transaction(sessionmaker, builder.account_id) as session:
        await session.execute(insert(PsaActivityLog).values(activities))
    return account


async def all_pages(
    api: ApiClient,
    token: str,
    document: str,
    root: str,
    first: int,
    after: str | None = None,
    **variables: Any,
) -> tuple[int, list[dict[str, Any]]]:
    """The list's totalCount (the same on every page) and every row, page after page
    (from the one after `after`)."""
    rows: list[dict[str, Any]] = []
    total: int | None = None
    while True:
        data = await api.data(document, {**variables, "first": first, "after": after}, token=token)
        page = data[root]
        assert total is None or page["totalCount"] == total
        total = page["totalCount"]
        rows.extend(page["nodes"])
        assert len(page["nodes"]) <= first
        if not page["pageInfo"]["hasNextPage"]:
            break
        assert len(page["nodes"]) == first
        after = page["pageInfo"]["endCursor"]
    assert total is not None
    return total, rows
