"""PSA tab: time entries and hours pushed, the push funnel and the daily trend."""

from __future__ import annotations

import asyncio
import datetime

import strawberry

from core.metrics import formulas
from core.metrics.rows import PsaTotals, PushFunnelCounts
from core.metrics.window import Window
from resolvers.context import Info
from schema.comparison import MetricChange, comparison_window, metric_change
from schema.enums import PsaActivityType
from schema.tab_window import TabWindow


@strawberry.type(description="How far the period's sessions got in reaching the PSA.")
class PushFunnel:
    counts: strawberry.Private[PushFunnelCounts]
    total_sessions: int = strawberry.field(description="FlowPilot sessions in the period.")
    linked_to_ticket: int = strawberry.field(description="Of those, linked to a PSA ticket.")
    doc_pushed: int = strawberry.field(description="Of those, with a note pushed (any date).")
    time_entry_logged: int = strawberry.field(
        description="Of those, with a time entry pushed (any date)."
    )

    @strawberry.field(description="linkedToTicket / totalSessions; null when 0 / 0.")
    def linked_rate(self) -> float | None:
        return self.counts.linked_rate.value

    @strawberry.field(description="docPushed / linkedToTicket; null when 0 / 0.")
    def doc_pushed_rate(self) -> float | None:
        return self.counts.doc_pushed_rate.value

    @strawberry.field(description="timeEntryLogged / docPushed; null when 0 / 0.")
    def time_entry_rate(self) -> float | None:
        return self.counts.time_entry_rate.value


@strawberry.type(description="Time entries pushed on one local calendar day.")
class PsaTrendPoint:
    date: datetime.date = strawberry.field(description="The day, in the account's time zone.")
    entries: int = strawberry.field(description="Time entries pushed that day.")
    hours: float = strawberry.field(description="Hours of those time entries.")


@strawberry.type(description="How many pushes of one kind were made in the period.")
class PsaActivityTypeCount:
    type: PsaActivityType = strawberry.field(description="The kind of push.")
    count: int = strawberry.field(description="Pushes of that kind in the period.")


def _per_session(totals: PsaTotals) -> float | None:
    return formulas.mean(totals.hours, totals.sessions_with_time_entries)


@strawberry.type(description="How each metric of the PSA tab changed.")
class PsaActivityChanges:
    window: strawberry.Private[Window]
    earlier: strawberry.Private[Window]

    async def _totals(self, info: Info) -> tuple[PsaTotals, PsaTotals]:
        loader = info.context.loaders.psa_totals_by_window
        current, previous = await asyncio.gather(
            loader.load(self.window), loader.load(self.earlier)
        )
        return current, previous

    async def _funnels(self, info: Info) -> tuple[PushFunnelCounts, PushFunnelCounts]:
        loader = info.context.loaders.push_funnel_by_window
        current, previous = await asyncio.gather(
            loader.load(self.window), loader.load(self.earlier)
        )
        return current, previous

    @strawberry.field(description="Change of totalTimeEntries.")
    async def total_time_entries(self, info: Info) -> MetricChange:
        current, previous = await self._totals(info)
        return metric_change(current.time_entries, previous.time_entries)

    @strawberry.field(description="Change of totalHoursLogged.")
    async def total_hours_logged(self, info: Info) -> MetricChange:
        current, previous = await self._totals(info)
        return metric_change(current.hours, previous.hours)

    @strawberry.field(description="Change of avgHoursPerSession.")
    async def avg_hours_per_session(self, info: Info) -> MetricChange:
        current, previous = await self._totals(info)
        return metric_change(_per_session(current), _per_session(previous))

    @strawberry.field(description="Change of pushFunnel.totalSessions.")
    async def funnel_sessions(self, info: Info) -> MetricChange:
        current, previous = await self._funnels(info)
        return metric_change(current.total_sessions, previous.total_sessions)

    @strawberry.field(description="Change of pushFunnel.linkedRate.")
    async def linked_rate(self, info: Info) -> MetricChange:
        current, previous = await self._funnels(info)
        return metric_change(current.linked_rate, previous.linked_rate)

    @strawberry.field(description="Change of pushFunnel.docPushedRate.")
    async def doc_pushed_rate(self, info: Info) -> MetricChange:
        current, previous = await self._funnels(info)
        return metric_change(current.doc_pushed_rate, previous.doc_pushed_rate)

    @strawberry.field(description="Change of pushFunnel.timeEntryRate.")
    async def time_entry_rate(self, info: Info) -> MetricChange:
        current, previous = await self._funnels(info)
        return metric_change(current.time_entry_rate, previous.time_entry_rate)


@strawberry.type(description="The PSA tab: what FlowPilot pushed to the PSA in the period.")
class PsaActivity(TabWindow):
    @strawberry.field(description="Time entries posted in the period.")
    async def total_time_entries(self, info: Info) -> int:
        return (await info.context.loaders.psa_totals_by_window.load(self.window)).time_entries

    @strawberry.field(description="Hours of those time entries (missing hours count as 0).")
    async def total_hours_logged(self, info: Info) -> float:
        return (await info.context.loaders.psa_totals_by_window.load(self.window)).hours

    @strawberry.field(
        description="totalHoursLogged / distinct sessions with a time entry; null when none."
    )
    async def avg_hours_per_session(self, info: Info) -> float | None:
        return _per_session(await info.context.loaders.psa_totals_by_window.load(self.window))

    @strawberry.field(description="Pushes per kind in the period, one entry per kind.")
    async def activity_counts(self, info: Info) -> list[PsaActivityTypeCount]:
        totals = await info.context.loaders.psa_totals_by_window.load(self.window)
        return [
            PsaActivityTypeCount(type=PsaActivityType.TIME_ENTRY_POSTED, count=totals.time_entries),
            PsaActivityTypeCount(type=PsaActivityType.NOTE_POSTED, count=totals.notes),
            PsaActivityTypeCount(type=PsaActivityType.STATUS_UPDATED, count=totals.status_updates),
        ]

    @strawberry.field(description="The period's sessions as a funnel towards the PSA.")
    async def push_funnel(self, info: Info) -> PushFunnel:
        counts = await info.context.loaders.push_funnel_by_window.load(self.window)
        return PushFunnel(
            counts=counts,
            total_sessions=counts.total_sessions,
            linked_to_ticket=counts.linked_to_ticket,
            doc_pushed=counts.doc_pushed,
            time_entry_logged=counts.time_entry_logged,
        )

    @strawberry.field(
        description="One point per calendar day of the period, oldest first, zero days included."
    )
    async def daily_trend(self, info: Info) -> list[PsaTrendPoint]:
        days = await info.context.loaders.psa_daily_by_window.load(self.window)
        return [PsaTrendPoint(date=day.day, entries=day.entries, hours=day.hours) for day in days]

    @strawberry.field(
        description="The same tab for the comparison window; null unless compareTo is given."
    )
    def previous(self) -> PsaActivity | None:
        earlier = comparison_window(self.window, self.compare)
        return None if earlier is None else PsaActivity(period=self.period, window=earlier)

    @strawberry.field(
        description="Each metric now, in the comparison window, and its change; null unless "
        "compareTo is given."
    )
    def changes(self) -> PsaActivityChanges | None:
        earlier = comparison_window(self.window, self.compare)
        return None if earlier is None else PsaActivityChanges(window=self.window, earlier=earlier)
