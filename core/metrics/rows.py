"""Plain result rows of the analytics queries (no ORM identity, cheap to build)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class Rate:
    """part / whole of two exact counts, the one form every rate takes: a field shows
    `value`, a change subtracts `exact` values; both are None when whole is 0."""

    part: int
    whole: int

    @property
    def value(self) -> float | None:
        """The nearest float to the exact fraction (int / int is correctly rounded)."""
        return None if self.whole == 0 else self.part / self.whole

    @property
    def exact(self) -> Fraction | None:
        return None if self.whole == 0 else Fraction(self.part, self.whole)


@dataclass(frozen=True, slots=True)
class SessionCounts:
    """Counts over a set of sessions; rates are derived from these exact integers."""

    sessions: int = 0
    resolved: int = 0
    escalated: int = 0
    guided: int = 0
    exploring: int = 0
    discovery: int = 0
    resolution_minutes_sum: float = 0.0
    resolution_minutes_count: int = 0
    rating_sum: int = 0
    rating_count: int = 0

    @property
    def unknown_tier(self) -> int:
        return self.sessions - self.guided - self.exploring - self.discovery

    @property
    def resolution_rate(self) -> Rate:
        return Rate(self.resolved, self.sessions)

    @property
    def escalation_rate(self) -> Rate:
        return Rate(self.escalated, self.sessions)

    @property
    def guided_rate(self) -> Rate:
        return Rate(self.guided, self.sessions)


@dataclass(frozen=True, slots=True)
class DomainRow:
    """One domain of the account's domain set in a window."""

    key: str
    name: str
    flow_count: int
    session_count: int


@dataclass(frozen=True, slots=True)
class DomainSet:
    """The whole domain set of a window, ordered as the tabs list it, plus unmapped sessions."""

    domains: tuple[DomainRow, ...]
    unmapped_session_count: int

    def by_key(self) -> dict[str, DomainRow]:
        return {row.key: row for row in self.domains}


@dataclass(frozen=True, slots=True)
class FlowRow:
    """A non-archived flow with its lifetime counters."""

    id: uuid.UUID
    name: str
    category: str | None
    status: str
    usage_count: int
    success_rate: float | None
    last_matched_at: datetime | None
    domain_key: str | None


@dataclass(frozen=True, slots=True)
class FlowPeriodStats:
    """Sessions matched to one flow in a window."""

    usage: int = 0
    resolved: int = 0
    guided: int = 0
    avg_confidence: float | None = None

    @property
    def success_rate(self) -> Rate:
        return Rate(self.resolved, self.usage)

    @property
    def guided_rate(self) -> Rate:
        return Rate(self.guided, self.usage)


@dataclass(frozen=True, slots=True)
class PsaTotals:
    time_entries: int = 0
    hours: float = 0.0
    sessions_with_time_entries: int = 0
    notes: int = 0
    status_updates: int = 0


@dataclass(frozen=True, slots=True)
class PushFunnelCounts:
    total_sessions: int = 0
    linked_to_ticket: int = 0
    doc_pushed: int = 0
    time_entry_logged: int = 0

    @property
    def linked_rate(self) -> Rate:
        return Rate(self.linked_to_ticket, self.total_sessions)

    @property
    def doc_pushed_rate(self) -> Rate:
        return Rate(self.doc_pushed, self.linked_to_ticket)

    @property
    def time_entry_rate(self) -> Rate:
        return Rate(self.time_entry_logged, self.doc_pushed)


@dataclass(frozen=True, slots=True)
class PsaDay:
    day: date
    entries: int
    hours: float
