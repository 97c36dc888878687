"""Domain: a problem area, merging flow categories and session problem domains by key."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Annotated, TypeVar

import strawberry

from persistence.analytics import formulas
from persistence.analytics.rows import DomainRow, SessionCounts
from persistence.analytics.window import Window
from resolvers.context import Info
from schema.comparison import ComparisonPeriod, MetricChange, comparison_window, metric_change
from schema.enums import Tier
from schema.errors import BadUserInput
from schema.maybe_awaitable import MaybeAwaitable, selects_any, then

if TYPE_CHECKING:
    from schema.flow_performance import FlowPerformance

T = TypeVar("T")

# The Domain fields computed from session counts (the rest come from the domain set).
COUNT_FIELDS = frozenset(
    {
        "resolutionRate",
        "escalationRate",
        "guidedRate",
        "avgResolutionMinutes",
        "resolutionTier",
        "escalationTier",
        "guidedTier",
        "suggestCreateFlow",
    }
)


def _tier(level: formulas.TierLevel | None) -> Tier | None:
    return None if level is None else Tier(level.value)


def _ratio(counts: SessionCounts, part: str) -> Fraction | None:
    return formulas.ratio(getattr(counts, part), counts.sessions)


def _rate(counts: SessionCounts, part: str) -> float | None:
    return formulas.rate(getattr(counts, part), counts.sessions)


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
    known_counts: strawberry.Private[SessionCounts | None] = None
    compare: strawberry.Private[ComparisonPeriod | None] = None

    async def _load_row(self, info: Info) -> DomainRow:
        domain_set = await info.context.loaders.domain_set_by_window.load(self.window)
        row = domain_set.by_key().get(self.key)
        return row if row is not None else DomainRow(self.key, self.key, 0, 0)

    async def _row(self, info: Info) -> DomainRow:
        return self.known_row if self.known_row is not None else await self._load_row(info)

    async def _counts(self, info: Info) -> SessionCounts:
        if self.known_counts is not None:
            return self.known_counts
        return await info.context.loaders.session_counts_by_domain.load((self.window, self.key))

    def _from_row(self, info: Info, pick: Callable[[DomainRow], T]) -> MaybeAwaitable[T]:
        return then(self.known_row, lambda: self._load_row(info), pick)

    def _from_counts(self, info: Info, pick: Callable[[SessionCounts], T]) -> MaybeAwaitable[T]:
        return then(self.known_counts, lambda: self._counts(info), pick)

    @strawberry.field(
        graphql_type=str, description="The domain's name: its flows' category spelling."
    )
    def name(self, info: Info) -> MaybeAwaitable[str]:
        return self._from_row(info, lambda row: row.name)

    @strawberry.field(
        graphql_type=int,
        description="Non-archived flows covering this domain (not period-bound).",
    )
    def flow_count(self, info: Info) -> MaybeAwaitable[int]:
        return self._from_row(info, lambda row: row.flow_count)

    @strawberry.field(
        graphql_type=int, description="FlowPilot sessions in the period with this domain."
    )
    def session_count(self, info: Info) -> MaybeAwaitable[int]:
        return self._from_row(info, lambda row: row.session_count)

    @strawberry.field(
        graphql_type=float | None,
        description="Share of the domain's sessions resolved; null without sessions.",
    )
    def resolution_rate(self, info: Info) -> MaybeAwaitable[float | None]:
        return self._from_counts(info, lambda counts: _rate(counts, "resolved"))

    @strawberry.field(
        graphql_type=float | None, description="Share of the domain's sessions escalated."
    )
    def escalation_rate(self, info: Info) -> MaybeAwaitable[float | None]:
        return self._from_counts(info, lambda counts: _rate(counts, "escalated"))

    @strawberry.field(
        graphql_type=float | None,
        description="Share of the domain's sessions that reached the guided tier.",
    )
    def guided_rate(self, info: Info) -> MaybeAwaitable[float | None]:
        return self._from_counts(info, lambda counts: _rate(counts, "guided"))

    @strawberry.field(
        graphql_type=float | None,
        description="Mean minutes from start to resolution over resolved sessions with a "
        "resolution time.",
    )
    def avg_resolution_minutes(self, info: Info) -> MaybeAwaitable[float | None]:
        return self._from_counts(info, _mean_minutes)

    @strawberry.field(
        description="The domain's flows with their figures in the same window, ordered by name."
    )
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
    ) -> list[Annotated[FlowPerformance, strawberry.lazy("schema.flow_performance")]]:
        from schema.flow_performance import FlowPerformance

        if first is not None and first < 0:
            raise BadUserInput("first must not be negative", argument="first")
        rows = await info.context.loaders.flows_by_domain_key.load((self.key, first))
        return [FlowPerformance.from_row(row, self.window, compare=self.compare) for row in rows]

    @strawberry.field(
        graphql_type=Tier, description="GOOD with 5+ flows, WARNING with 1–4, CRITICAL with none."
    )
    def flow_count_tier(self, info: Info) -> MaybeAwaitable[Tier]:
        return self._from_row(
            info, lambda row: Tier(formulas.flow_count_tier(row.flow_count).value)
        )

    @strawberry.field(
        graphql_type=Tier | None,
        description="GOOD > 75%, WARNING 50–75%, CRITICAL < 50%; null without sessions.",
    )
    def resolution_tier(self, info: Info) -> MaybeAwaitable[Tier | None]:
        return self._from_counts(
            info, lambda counts: _tier(formulas.resolution_tier(_ratio(counts, "resolved")))
        )

    @strawberry.field(
        graphql_type=Tier | None,
        description="GOOD < 10%, WARNING 10–25%, CRITICAL > 25%; null without sessions.",
    )
    def escalation_tier(self, info: Info) -> MaybeAwaitable[Tier | None]:
        return self._from_counts(
            info, lambda counts: _tier(formulas.escalation_tier(_ratio(counts, "escalated")))
        )

    @strawberry.field(
        graphql_type=Tier | None,
        description="GOOD > 60%, WARNING 30–60%, CRITICAL < 30%; null without sessions.",
    )
    def guided_tier(self, info: Info) -> MaybeAwaitable[Tier | None]:
        return self._from_counts(
            info, lambda counts: _tier(formulas.guided_tier(_ratio(counts, "guided")))
        )

    @strawberry.field(graphql_type=bool, description="True when any of the four tiers is CRITICAL.")
    def suggest_create_flow(self, info: Info) -> MaybeAwaitable[bool]:
        if self.known_row is not None and self.known_counts is not None:
            return formulas.suggest_create_flow(self.known_row.flow_count, self.known_counts)
        return self._suggest_create_flow(info)

    async def _suggest_create_flow(self, info: Info) -> bool:
        row, counts = await asyncio.gather(self._row(info), self._counts(info))
        return formulas.suggest_create_flow(row.flow_count, counts)

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


async def domains_of(
    info: Info,
    window: Window,
    rows: Sequence[DomainRow],
    compare: ComparisonPeriod | None,
    *,
    with_counts: bool | None = None,
) -> list[Domain]:
    """Domains for `rows`, their session counts loaded up front (one batched statement)
    when `with_counts`, or by default when the query selects a field that needs them."""
    if with_counts is None:
        with_counts = selects_any(info, COUNT_FIELDS)
    counts: list[SessionCounts | None] = [None] * len(rows)
    if with_counts:
        loader = info.context.loaders.session_counts_by_domain
        counts = list(await asyncio.gather(*(loader.load((window, row.key)) for row in rows)))
    return [
        Domain(key=row.key, window=window, known_row=row, known_counts=row_counts, compare=compare)
        for row, row_counts in zip(rows, counts, strict=True)
    ]
