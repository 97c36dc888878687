"""Evidence: the sessions and PSA pushes behind any count of the tabs, paged.

A filter names the count it opens with the count's own definition (docs/metrics.md,
"Evidence"); the list is read in the request's snapshot, so asked together with a tab
its `totalCount` equals the tab's number and its rows are exactly the ones counted.
"""

from __future__ import annotations

import datetime
import uuid
from enum import Enum

import strawberry

from core.errors import BadUserInput
from core.metrics.keys import domain_key
from core.metrics.window import Window
from persistence.analytics.evidence import (
    ActivityCursor,
    ActivityFilter,
    EvidenceActivityRow,
    EvidenceSessionRow,
    SessionCursor,
    SessionFilter,
)
from resolvers.context import Info
from resolvers.evidence import (
    decode_cursor,
    encode_cursor,
    read_activity_page,
    read_session_page,
)
from schema.enums import PsaActivityType
from schema.tab_window import TabWindow

DEFAULT_PAGE = 50
MAX_PAGE = 200


@strawberry.enum(
    description="A session's outcome, as the resolution and escalation rates count it."
)
class SessionOutcome(Enum):
    RESOLVED = strawberry.enum_value("resolved", description="Status `resolved`.")
    ESCALATED = strawberry.enum_value("escalated", description="Status `escalated`.")


@strawberry.enum(description="The confidence tier a session reached, as confidenceTiers counts it.")
class ConfidenceTier(Enum):
    GUIDED = strawberry.enum_value("guided", description="Reached the guided tier.")
    EXPLORING = strawberry.enum_value("exploring", description="Reached the exploring tier.")
    DISCOVERY = strawberry.enum_value("discovery", description="Reached the discovery tier.")
    UNKNOWN = strawberry.enum_value(
        "unknown", description="None of the three recorded (confidenceTiers.unknown)."
    )


@strawberry.enum(description="A step of the push funnel; each is a subset of the one before.")
class PushFunnelStep(Enum):
    LINKED_TO_TICKET = strawberry.enum_value(
        "linked", description="Linked to a ticket (pushFunnel.linkedToTicket)."
    )
    DOC_PUSHED = strawberry.enum_value(
        "doc_pushed", description="Linked, with a note pushed at any date (pushFunnel.docPushed)."
    )
    TIME_ENTRY_LOGGED = strawberry.enum_value(
        "time_logged",
        description="Linked, with a note and a time entry pushed (pushFunnel.timeEntryLogged).",
    )


@strawberry.input(
    description="Which sessions of the window to list: every given part must hold. Each "
    "count of the tabs is one such object (docs/metrics.md, Evidence); none given: every "
    "session of the window (Overview.sessionCount)."
)
class EvidenceFilter:
    domain: str | None = strawberry.field(
        default=None,
        description="A domain's name (any spelling with the same key): its sessionCount.",
    )
    unmapped: bool = strawberry.field(
        default=False,
        description="Only sessions with no domain (Coverage.unmappedSessionCount). Not with "
        "`domain`.",
    )
    flow_id: strawberry.ID | None = strawberry.field(
        default=None, description="Sessions matched to this flow (its usageCount)."
    )
    outcome: SessionOutcome | None = strawberry.field(
        default=None, description="Only resolved or only escalated sessions."
    )
    tier: ConfidenceTier | None = strawberry.field(
        default=None, description="Only sessions of this confidence tier."
    )
    funnel_step: PushFunnelStep | None = strawberry.field(
        default=None, description="Only sessions that reached this step of the push funnel."
    )
    day: datetime.date | None = strawberry.field(
        default=None,
        description="Only sessions started on this local day of the window (a trend point).",
    )


@strawberry.type(description="A PSA push (note, time entry or status update).")
class EvidencePush:
    """Plain values, built once per row (push_node): a page's thousand fields are read
    as attributes, not each through a resolver."""

    id: strawberry.ID = strawberry.field(description="The push's id.")
    session_id: strawberry.ID | None = strawberry.field(
        description="The session it belongs to; null for a push without one."
    )
    type: PsaActivityType = strawberry.field(description="The kind of push.")
    hours: float | None = strawberry.field(
        description="Hours of a time entry (null when not recorded)."
    )
    psa_ticket_id: str = strawberry.field(description="The PSA ticket it was pushed to.")
    external_id: str | None = strawberry.field(
        description="The PSA's id of the pushed record, when known."
    )
    created_at: datetime.datetime = strawberry.field(
        description="When it was recorded, in the account's time zone."
    )


def push_node(row: EvidenceActivityRow, zone: datetime.tzinfo) -> EvidencePush:
    session_id = row.session_id
    return EvidencePush(
        id=strawberry.ID(str(row.id)),
        session_id=None if session_id is None else strawberry.ID(str(session_id)),
        type=PsaActivityType(row.activity_type.upper()),
        hours=row.hours_logged,
        psa_ticket_id=row.psa_ticket_id,
        external_id=row.external_id,
        created_at=row.created_at.astimezone(zone),
    )


@strawberry.type(description="A session behind a count, with what a lead needs to judge it.")
class EvidenceSession:
    """Plain values, built once per row (session_node), as EvidencePush."""

    id: strawberry.ID = strawberry.field(description="The session's id.")
    started_at: datetime.datetime = strawberry.field(
        description="When it started, in the account's time zone."
    )
    resolved_at: datetime.datetime | None = strawberry.field(
        description="When it was resolved, in the account's time zone."
    )
    status: str = strawberry.field(
        description="Its status as stored (resolved, escalated, active, …)."
    )
    problem_domain: str | None = strawberry.field(
        description="The problem domain as classified (as typed)."
    )
    domain_key: str | None = strawberry.field(
        description="The domain key it counts under (lower case, trimmed, white space "
        "collapsed); null when unmapped."
    )
    confidence_tier: str | None = strawberry.field(
        description="The confidence tier reached (null when none recorded)."
    )
    matched_flow_id: strawberry.ID | None = strawberry.field(
        description="The matched flow's id (null when none)."
    )
    matched_flow_name: str | None = strawberry.field(
        description="The matched flow's name (null when none)."
    )
    match_confidence: float | None = strawberry.field(
        description="The match's confidence, 0–1 (null when none)."
    )
    resolution_minutes: float | None = strawberry.field(
        description="resolvedAt − startedAt in minutes, for a resolved session with a "
        "resolution time (the sessions avgResolutionMinutes averages); else null."
    )
    rating: int | None = strawberry.field(description="The 1–5 rating (null when unrated).")
    psa_ticket_id: str | None = strawberry.field(
        description="The PSA ticket it is linked to (null when none)."
    )
    pushes: list[EvidencePush] = strawberry.field(
        description="Its PSA pushes (any date), oldest first."
    )


def session_node(
    row: EvidenceSessionRow, zone: datetime.tzinfo, pushes: list[EvidenceActivityRow]
) -> EvidenceSession:
    resolved, flow_id = row.resolved_at, row.matched_flow_id
    minutes = None
    if row.status == "resolved" and resolved is not None:
        minutes = (resolved - row.started_at).total_seconds() / 60
    return EvidenceSession(
        id=strawberry.ID(str(row.id)),
        started_at=row.started_at.astimezone(zone),
        resolved_at=None if resolved is None else resolved.astimezone(zone),
        status=row.status,
        problem_domain=row.problem_domain,
        domain_key=row.domain_key,
        confidence_tier=row.confidence_tier,
        matched_flow_id=None if flow_id is None else strawberry.ID(str(flow_id)),
        matched_flow_name=row.matched_flow_name,
        match_confidence=row.match_confidence,
        resolution_minutes=minutes,
        rating=row.rating,
        psa_ticket_id=row.psa_ticket_id,
        pushes=[push_node(push, zone) for push in pushes],
    )


@strawberry.type(description="Where a page ends and whether another follows.")
class EvidencePageInfo:
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page (null on an empty page)."
    )
    has_next_page: bool = strawberry.field(description="Whether rows follow this page.")


@strawberry.type(description="The sessions behind a count, newest first, one page of them.")
class SessionEvidence(TabWindow):
    total_count: int = strawberry.field(
        description="Every session the filter matches in the window: the count it explains."
    )
    nodes: list[EvidenceSession] = strawberry.field(
        description="This page's sessions, by startedAt then id, descending."
    )
    page_info: EvidencePageInfo = strawberry.field(description="How to ask for the next page.")


@strawberry.type(description="The PSA pushes behind a PSA tab count, newest first, one page.")
class PsaActivityEvidence(TabWindow):
    total_count: int = strawberry.field(
        description="Every push of the kind (all kinds when none) in the window or day."
    )
    nodes: list[EvidencePush] = strawberry.field(
        description="This page's pushes, by createdAt then id, descending."
    )
    page_info: EvidencePageInfo = strawberry.field(description="How to ask for the next page.")


_FUNNEL = {
    PushFunnelStep.LINKED_TO_TICKET: "linked",
    PushFunnelStep.DOC_PUSHED: "doc_pushed",
    PushFunnelStep.TIME_ENTRY_LOGGED: "time_logged",
}


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if not 1 <= first <= MAX_PAGE:
        raise BadUserInput(f"first must be between 1 and {MAX_PAGE}", argument="first")
    return first


def _day_in(window: Window, day: datetime.date | None) -> datetime.date | None:
    if day is not None and not window.first_day <= day <= window.last_day:
        raise BadUserInput("day must be a local day of the window", argument="filter")
    return day


def session_filter(window: Window, given: EvidenceFilter | None) -> SessionFilter:
    """The persistence filter of `given`, or BAD_USER_INPUT saying what is wrong."""
    if given is None:
        return SessionFilter()
    key: str | None = None
    if given.domain is not None:
        key = domain_key(given.domain)
        if key is None:
            raise BadUserInput("domain is blank: use unmapped", argument="filter")
        if given.unmapped:
            raise BadUserInput("give domain or unmapped, not both", argument="filter")
    flow_id: uuid.UUID | None = None
    if given.flow_id is not None:
        try:
            flow_id = uuid.UUID(str(given.flow_id))
        except ValueError:
            raise BadUserInput("flowId is not a flow id (a UUID)", argument="filter") from None
    return SessionFilter(
        domain_key=key,
        unmapped=given.unmapped,
        flow_id=flow_id,
        outcome=None if given.outcome is None else given.outcome.name.lower(),
        tier=None if given.tier is None else given.tier.name.lower(),
        funnel=None if given.funnel_step is None else _FUNNEL[given.funnel_step],
        day=_day_in(window, given.day),
    )


async def session_evidence(
    info: Info,
    window: Window,
    given: EvidenceFilter | None,
    first: int | None,
    after: str | None,
) -> tuple[int, list[EvidenceSession], EvidencePageInfo]:
    where = session_filter(window, given)
    size = page_size(first)
    cursor = None if after is None else SessionCursor(*decode_cursor(after))
    page = await read_session_page(info.context.loaders.snapshot, window, where, size, cursor)
    zone = window.zone
    nodes = [session_node(row, zone, page.pushes[row.id]) for row in page.rows]
    last = page.rows[-1] if page.rows else None
    end = None if last is None else encode_cursor(last.started_at, last.id)
    return page.total, nodes, EvidencePageInfo(end_cursor=end, has_next_page=page.has_next)


async def activity_evidence(
    info: Info,
    window: Window,
    activity_type: PsaActivityType | None,
    day: datetime.date | None,
    first: int | None,
    after: str | None,
) -> tuple[int, list[EvidencePush], EvidencePageInfo]:
    where = ActivityFilter(
        activity_type=None if activity_type is None else activity_type.name.lower(),
        day=_day_in(window, day),
    )
    size = page_size(first)
    cursor = None if after is None else ActivityCursor(*decode_cursor(after))
    page = await read_activity_page(info.context.loaders.snapshot, window, where, size, cursor)
    zone = window.zone
    nodes = [push_node(row, zone) for row in page.rows]
    last = page.rows[-1] if page.rows else None
    end = None if last is None else encode_cursor(last.created_at, last.id)
    return page.total, nodes, EvidencePageInfo(end_cursor=end, has_next_page=page.has_next)
