"""Overview tab: headline session metrics, confidence tiers, the domain breakdown and the chart."""

from __future__ import annotations

import asyncio
import datetime

import strawberry

from core.metrics import formulas
from core.metrics.rows import SessionCounts
from resolvers.context import Info
from schema.comparison import MetricChange, comparison_window, metric_change
from schema.domain import Domain, domains_of
from schema.tab_window import TabWindow


@strawberry.type(description="Sessions per confidence tier reached.")
class ConfidenceTiers:
    guided: int = strawberry.field(description="Sessions that reached guided (≥ 0.8).")
    exploring: int = strawberry.field(description="Sessions that reached exploring (0.4–0.8).")
    discovery: int = strawberry.field(description="Sessions that stayed in discovery (< 0.4).")
    unknown: int = strawberry.field(description="Sessions with no tier recorded.")


@strawberry.type(
    description="FlowPilot sessions started on one local calendar day; the points of a "
    "window add up to its totals."
)
class OverviewTrendPoint:
    date: datetime.date = strawberry.field(description="The day, in the account's time zone.")
    sessions: int = strawberry.field(description="Sessions started that day.")
    resolved: int = strawberry.field(description="Of those, resolved.")
    escalated: int = strawberry.field(description="Of those, escalated.")
    mttr_minutes: float | None = strawberry.field(
        description="Mean time to resolution (minutes) of that day's resolved sessions with a "
        "resolution time; null when none."
    )


def _mttr(counts: SessionCounts) -> float | None:
    return formulas.mean(counts.resolution_minutes_sum, counts.resolution_minutes_count)


def _rating(counts: SessionCounts) -> float | None:
    return formulas.mean(counts.rating_sum, counts.rating_count)


@strawberry.type(description="How each headline metric of the Overview changed.")
class OverviewChanges:
    current: strawberry.Private[SessionCounts]
    previous: strawberry.Private[SessionCounts]

    @strawberry.field(description="Change of sessionCount.")
    def session_count(self) -> MetricChange:
        return metric_change(self.current.sessions, self.previous.sessions)

    @strawberry.field(description="Change of resolvedCount.")
    def resolved_count(self) -> MetricChange:
        return metric_change(self.current.resolved, self.previous.resolved)

    @strawberry.field(description="Change of escalatedCount.")
    def escalated_count(self) -> MetricChange:
        return metric_change(self.current.escalated, self.previous.escalated)

    @strawberry.field(description="Change of resolutionRate.")
    def resolution_rate(self) -> MetricChange:
        return metric_change(self.current.resolution_rate, self.previous.resolution_rate)

    @strawberry.field(description="Change of escalationRate.")
    def escalation_rate(self) -> MetricChange:
        return metric_change(self.current.escalation_rate, self.previous.escalation_rate)

    @strawberry.field(description="Change of guidedRate.")
    def guided_rate(self) -> MetricChange:
        return metric_change(self.current.guided_rate, self.previous.guided_rate)

    @strawberry.field(description="Change of mttrMinutes.")
    def mttr_minutes(self) -> MetricChange:
        return metric_change(_mttr(self.current), _mttr(self.previous))

    @strawberry.field(description="Change of avgRating.")
    def avg_rating(self) -> MetricChange:
        return metric_change(_rating(self.current), _rating(self.previous))


@strawberry.type(description="The Overview tab: all FlowPilot sessions of the period.")
class Overview(TabWindow):
    async def _counts(self, info: Info) -> SessionCounts:
        return await info.context.loaders.session_totals_by_window.load(self.window)

    @strawberry.field(description="FlowPilot sessions started in the period.")
    async def session_count(self, info: Info) -> int:
        return (await self._counts(info)).sessions

    @strawberry.field(
        description="Sessions of the period that were resolved (the numerator of "
        "resolutionRate, counted exactly)."
    )
    async def resolved_count(self, info: Info) -> int:
        return (await self._counts(info)).resolved

    @strawberry.field(
        description="Sessions of the period that were escalated (the numerator of "
        "escalationRate, counted exactly)."
    )
    async def escalated_count(self, info: Info) -> int:
        return (await self._counts(info)).escalated

    @strawberry.field(description="Resolved sessions / sessions; null without sessions.")
    async def resolution_rate(self, info: Info) -> float | None:
        return (await self._counts(info)).resolution_rate.value

    @strawberry.field(description="Escalated sessions / sessions; null without sessions.")
    async def escalation_rate(self, info: Info) -> float | None:
        return (await self._counts(info)).escalation_rate.value

    @strawberry.field(description="Guided sessions / sessions; null without sessions.")
    async def guided_rate(self, info: Info) -> float | None:
        return (await self._counts(info)).guided_rate.value

    @strawberry.field(description="Mean time to resolution, minutes.")
    async def mttr_minutes(self, info: Info) -> float | None:
        return _mttr(await self._counts(info))

    @strawberry.field(description="Mean rating (1–5) of rated sessions; null when none is rated.")
    async def avg_rating(self, info: Info) -> float | None:
        return _rating(await self._counts(info))

    @strawberry.field(description="Sessions per confidence tier.")
    async def confidence_tiers(self, info: Info) -> ConfidenceTiers:
        counts = await self._counts(info)
        return ConfidenceTiers(
            guided=counts.guided,
            exploring=counts.exploring,
            discovery=counts.discovery,
            unknown=counts.unknown_tier,
        )

    @strawberry.field(
        description="Domain breakdown: domains with sessionCount >= 1, sessionCount desc, "
        "then name."
    )
    async def domains(self, info: Info) -> list[Domain]:
        domain_set = await info.context.loaders.domain_set_by_window.load(self.window)
        active = [row for row in domain_set.domains if row.session_count >= 1]
        return await domains_of(info, self.window, active, self.compare)

    @strawberry.field(
        description="One point per local calendar day of the window, oldest first, zero days "
        "included; sessions, resolved and escalated add up to the totals."
    )
    async def daily_trend(self, info: Info) -> list[OverviewTrendPoint]:
        days = await info.context.loaders.overview_daily_by_window.load(self.window)
        return [
            OverviewTrendPoint(
                date=day.day,
                sessions=day.sessions,
                resolved=day.resolved,
                escalated=day.escalated,
                mttr_minutes=formulas.mean(
                    day.resolution_minutes_sum, day.resolution_minutes_count
                ),
            )
            for day in days
        ]

    @strawberry.field(
        description="The same tab for the comparison window; null unless compareTo is given."
    )
    def previous(self) -> Overview | None:
        earlier = comparison_window(self.window, self.compare)
        return None if earlier is None else Overview(period=self.period, window=earlier)

    @strawberry.field(
        description="Each headline metric now, in the comparison window, and its change; "
        "null unless compareTo is given."
    )
    async def changes(self, info: Info) -> OverviewChanges | None:
        earlier = comparison_window(self.window, self.compare)
        if earlier is None:
            return None
        loader = info.context.loaders.session_totals_by_window
        current, previous = await asyncio.gather(loader.load(self.window), loader.load(earlier))
        return OverviewChanges(current=current, previous=previous)
