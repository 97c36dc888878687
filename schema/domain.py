"""Domain: a problem area, merging flow categories and session problem domains by key."""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import TYPE_CHECKING, Annotated

import strawberry

from persistence.analytics import formulas
from persistence.analytics.rows import DomainRow, SessionCounts
from persistence.analytics.window import Window
from resolvers.context import Info
from schema.comparison import ComparisonPeriod, MetricChange, comparison_window, metric_change
from schema.enums import Tier
from schema.errors import BadUserInput

if TYPE_CHECKING:
    from schema.flow import Flow


def _tier(level: formulas.TierLevel | None) -> Tier | None:
    return None if level is None else Tier(level.value)


def _mean_minutes(counts: SessionCounts) -> float | None:
    return formulas.mean(counts.resolution_minutes_sum, counts.resolution_minutes_count)


@strawberry.type(description="How each period metric of a domain changed.")
class DomainChanges:
    current: strawberry.Private[SessionCounts]
    previous: strawberry.Private[SessionCounts]

    def _rates(self, part: str) -> MetricChange:
        return metric_change(
            formulas.ratio(getattr(self.current, part), self.current.sessions),
            formulas.ratio(getattr(self.previous, part), self.previous.sessions),
        )

    @strawberry.field(description="Change of sessionCount.")
    def session_count(self) -> MetricChange:
        return metric_change(self.current.sessions, self.previous.sessions)

    @strawberry.field(description="Change of resolutionRate.")
    def resolution_rate(self) -> MetricChange:
        return self._rates("resolved")

    @strawberry.field(description="Change of escalationRate.")
    def escalation_rate(self) -> MetricChange:
        return self._rates("escalated")

    @strawberry.field(description="Change of guidedRate.")
    def guided_rate(self) -> MetricChange:
        return self._rates("guided")

    @strawberry.field(description="Change of avgResolutionMinutes.")
    def avg_resolution_minutes(self) -> MetricChange:
        return metric_change(_mean_minutes(self.current), _mean_minutes(self.previous))


@strawberry.type(description="A problem domain of the account in the period.")
class Domain:
    key: strawberry.Private[str]
    window: strawberry.Private[Window]
    known_row: strawberry.Private[DomainRow | None] = None
    compare: strawberry.Private[ComparisonPeriod | None] = None

    async def _row(self, info: Info) -> DomainRow:
        if self.known_row is not None:
            return self.known_row
        domain_set = await info.context.loaders.domain_set_by_window.load(self.window)
        row = domain_set.by_key().get(self.key)
        return row if row is not None else DomainRow(self.key, self.key, 0, 0)

    async def _counts(self, info: Info) -> SessionCounts:
        return await info.context.loaders.session_counts_by_domain.load((self.window, self.key))

    async def _rate(self, info: Info, part: str) -> Fraction | None:
        counts = await self._counts(info)
        return formulas.ratio(getattr(counts, part), counts.sessions)

    @strawberry.field(description="The domain's name: its flows' category spelling.")
    async def name(self, info: Info) -> str:
        return (await self._row(info)).name

    @strawberry.field(description="Non-archived flows covering this domain (not period-bound).")
    async def flow_count(self, info: Info) -> int:
        return (await self._row(info)).flow_count

    @strawberry.field(description="FlowPilot sessions in the period with this domain.")
    async def session_count(self, info: Info) -> int:
        return (await self._row(info)).session_count

    @strawberry.field(description="Share of the domain's sessions resolved; null without sessions.")
    async def resolution_rate(self, info: Info) -> float | None:
        return formulas.as_float(await self._rate(info, "resolved"))

    @strawberry.field(description="Share of the domain's sessions escalated.")
    async def escalation_rate(self, info: Info) -> float | None:
        return formulas.as_float(await self._rate(info, "escalated"))

    @strawberry.field(description="Share of the domain's sessions that reached the guided tier.")
    async def guided_rate(self, info: Info) -> float | None:
        return formulas.as_float(await self._rate(info, "guided"))

    @strawberry.field(
        description="Mean minutes from start to resolution over resolved sessions with a "
        "resolution time."
    )
    async def avg_resolution_minutes(self, info: Info) -> float | None:
        return _mean_minutes(await self._counts(info))

    @strawberry.field(description="The domain's flows, ordered by name.")
    async def flows(
        self,
        info: Info,
        first: Annotated[
            int | None,
            strawberry.argument(
                description="Return only the first this many flows by name (all when "
                "omitted); flowCount tells how many there are."
            ),
        ] = None,
    ) -> list[Annotated[Flow, strawberry.lazy("schema.flow")]]:
        from schema.flow import Flow

        if first is not None and first < 0:
            raise BadUserInput("first must not be negative", argument="first")
        rows = await info.context.loaders.flows_by_domain_key.load((self.key, first))
        return [Flow.from_row(row, self.window, compare=self.compare) for row in rows]

    @strawberry.field(description="GOOD with 5+ flows, WARNING with 1–4, CRITICAL with none.")
    async def flow_count_tier(self, info: Info) -> Tier:
        level = formulas.flow_count_tier((await self._row(info)).flow_count)
        return Tier(level.value)

    @strawberry.field(
        description="GOOD > 75%, WARNING 50–75%, CRITICAL < 50%; null without sessions."
    )
    async def resolution_tier(self, info: Info) -> Tier | None:
        return _tier(formulas.resolution_tier(await self._rate(info, "resolved")))

    @strawberry.field(
        description="GOOD < 10%, WARNING 10–25%, CRITICAL > 25%; null without sessions."
    )
    async def escalation_tier(self, info: Info) -> Tier | None:
        return _tier(formulas.escalation_tier(await self._rate(info, "escalated")))

    @strawberry.field(
        description="GOOD > 60%, WARNING 30–60%, CRITICAL < 30%; null without sessions."
    )
    async def guided_tier(self, info: Info) -> Tier | None:
        return _tier(formulas.guided_tier(await self._rate(info, "guided")))

    @strawberry.field(description="True when any of the four tiers is CRITICAL.")
    async def suggest_create_flow(self, info: Info) -> bool:
        row = await self._row(info)
        return formulas.suggest_create_flow(row.flow_count, await self._counts(info))

    @strawberry.field(
        description="The same domain in the comparison window (its name and counts there, "
        "zero when it had no sessions then); null unless compareTo is given."
    )
    async def previous(self, info: Info) -> Domain | None:
        earlier = comparison_window(self.window, self.compare)
        if earlier is None:
            return None
        domain_set = await info.context.loaders.domain_set_by_window.load(earlier)
        row = domain_set.by_key().get(self.key)
        if row is None:
            # Absent then: no sessions, and no flows (a flow's domain is in every window).
            row = DomainRow(self.key, (await self._row(info)).name, 0, 0)
        return Domain(key=self.key, window=earlier, known_row=row)

    @strawberry.field(
        description="Each period metric now, in the comparison window, and its change; "
        "null unless compareTo is given."
    )
    async def changes(self, info: Info) -> DomainChanges | None:
        earlier = comparison_window(self.window, self.compare)
        if earlier is None:
            return None
        loader = info.context.loaders.session_counts_by_domain
        current, previous = await asyncio.gather(
            loader.load((self.window, self.key)), loader.load((earlier, self.key))
        )
        return DomainChanges(current=current, previous=previous)
