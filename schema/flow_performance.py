"""FlowPerformance: one flow's figures in a tab's window.

It has no id of its own (its numbers depend on the window), so a normalizing client
cache keeps it under the field that returned it and never mixes two periods; the flow
itself is `flow`, a `Flow` that caches may keep by id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import strawberry

from persistence.analytics import formulas
from persistence.analytics.rows import FlowPeriodStats, FlowRow
from persistence.analytics.window import Window
from resolvers.context import Info
from resolvers.flow_ranking import RankedFlow
from schema.comparison import ComparisonPeriod, MetricChange, comparison_window, metric_change
from schema.enums import AttentionReason
from schema.flow import Flow
from schema.maybe_awaitable import MaybeAwaitable, then

if TYPE_CHECKING:
    from schema.domain import Domain

T = TypeVar("T")


@strawberry.type(description="How each period metric of a flow changed.")
class FlowChanges:
    row: strawberry.Private[FlowRow]
    now: strawberry.Private[datetime]
    current: strawberry.Private[FlowPeriodStats]
    previous: strawberry.Private[FlowPeriodStats]

    def _rates(self, part: str) -> MetricChange:
        return metric_change(
            formulas.ratio(getattr(self.current, part), self.current.usage),
            formulas.ratio(getattr(self.previous, part), self.previous.usage),
        )

    @strawberry.field(description="Change of usageCount.")
    def usage_count(self) -> MetricChange:
        return metric_change(self.current.usage, self.previous.usage)

    @strawberry.field(description="Change of successRate.")
    def success_rate(self) -> MetricChange:
        return self._rates("resolved")

    @strawberry.field(description="Change of guidedRate.")
    def guided_rate(self) -> MetricChange:
        return self._rates("guided")

    @strawberry.field(description="Change of avgConfidence.")
    def avg_confidence(self) -> MetricChange:
        return metric_change(self.current.avg_confidence, self.previous.avg_confidence)

    @strawberry.field(
        description="Change of qualityScore (recencyScore is taken at now in both windows)."
    )
    def quality_score(self) -> MetricChange:
        return metric_change(
            RankedFlow.of(self.row, self.current, self.now).quality,
            RankedFlow.of(self.row, self.previous, self.now).quality,
        )


@strawberry.type(
    description="One flow's figures in a tab's window. It has no id of its own: its numbers "
    "depend on the window, so a normalizing client cache (Apollo, urql, Relay) keeps it "
    "under the field that returned it and never mixes the figures of two periods."
)
class FlowPerformance:
    row: strawberry.Private[FlowRow]
    window: strawberry.Private[Window]
    known_stats: strawberry.Private[FlowPeriodStats | None] = None
    compare: strawberry.Private[ComparisonPeriod | None] = None
    known_scores: strawberry.Private[RankedFlow | None] = None

    @classmethod
    def from_row(
        cls,
        row: FlowRow,
        window: Window,
        stats: FlowPeriodStats | None = None,
        *,
        compare: ComparisonPeriod | None = None,
        scores: RankedFlow | None = None,
    ) -> FlowPerformance:
        return cls(row=row, window=window, known_stats=stats, compare=compare, known_scores=scores)

    @strawberry.field(description="The flow itself (the same in every window).")
    def flow(self) -> Flow:
        return Flow.from_row(self.row)

    async def _stats(self, info: Info) -> FlowPeriodStats:
        if self.known_stats is not None:
            return self.known_stats
        return await info.context.loaders.flow_stats_by_flow.load((self.window, self.row.id))

    @strawberry.field(
        description="The domain this flow covers (its category) in the same window, null "
        "when it has none."
    )
    def domain(self) -> Annotated[Domain, strawberry.lazy("schema.domain")] | None:
        from schema.domain import Domain

        if self.row.domain_key is None:
            return None
        return Domain(key=self.row.domain_key, window=self.window, compare=self.compare)

    def _scores_now(self, info: Info) -> RankedFlow | None:
        """The flow's period scores when its statistics are already known (else None)."""
        if self.known_scores is None and self.known_stats is not None:
            self.known_scores = RankedFlow.of(self.row, self.known_stats, info.context.now)
        return self.known_scores

    async def _scores(self, info: Info) -> RankedFlow:
        known = self._scores_now(info)
        if known is not None:
            return known
        return RankedFlow.of(self.row, await self._stats(info), info.context.now)

    def _from_scores(self, info: Info, pick: Callable[[RankedFlow], T]) -> MaybeAwaitable[T]:
        return then(self._scores_now(info), lambda: self._scores(info), pick)

    @strawberry.field(graphql_type=int, description="Sessions matched to this flow in the period.")
    def usage_count(self, info: Info) -> MaybeAwaitable[int]:
        return self._from_scores(info, lambda scores: scores.stats.usage)

    @strawberry.field(
        graphql_type=float | None,
        description="Share of the period's matched sessions that were resolved.",
    )
    def success_rate(self, info: Info) -> MaybeAwaitable[float | None]:
        return self._from_scores(info, lambda scores: scores.success_rate)

    @strawberry.field(
        graphql_type=float | None,
        description="Share of the period's matched sessions that reached guided.",
    )
    def guided_rate(self, info: Info) -> MaybeAwaitable[float | None]:
        return self._from_scores(info, lambda scores: scores.guided_rate)

    @strawberry.field(
        graphql_type=float | None,
        description="Mean match confidence of the period's matched sessions.",
    )
    def avg_confidence(self, info: Info) -> MaybeAwaitable[float | None]:
        return self._from_scores(info, lambda scores: scores.stats.avg_confidence)

    @strawberry.field(
        description="1 when matched just now, falling linearly to 0 at 90 days; 0 if never."
    )
    def recency_score(self, info: Info) -> float:
        return formulas.recency_score(self.row.last_matched_at, info.context.now)

    @strawberry.field(
        graphql_type=float,
        description="0.5 × successRate + 0.3 × guidedRate + 0.2 × recencyScore (null rates as 0).",
    )
    def quality_score(self, info: Info) -> MaybeAwaitable[float]:
        return self._from_scores(info, lambda scores: scores.quality)

    @strawberry.field(graphql_type=bool, description="True when there is any attention reason.")
    def needs_attention(self, info: Info) -> MaybeAwaitable[bool]:
        return self._from_scores(info, lambda scores: scores.needs_attention)

    @strawberry.field(
        graphql_type=list[AttentionReason],
        description="LOW_SUCCESS_RATE, then STALE, where they apply.",
    )
    def attention_reasons(self, info: Info) -> MaybeAwaitable[list[AttentionReason]]:
        return self._from_scores(
            info, lambda scores: [AttentionReason(reason.value) for reason in scores.reasons]
        )

    @strawberry.field(
        description="The same flow's figures in the comparison window; null unless compareTo "
        "is given."
    )
    def previous(self) -> FlowPerformance | None:
        earlier = comparison_window(self.window, self.compare)
        return None if earlier is None else FlowPerformance.from_row(self.row, earlier)

    @strawberry.field(
        description="Each period metric now, in the comparison window, and its change; "
        "null unless compareTo is given."
    )
    async def changes(self, info: Info) -> FlowChanges | None:
        earlier = comparison_window(self.window, self.compare)
        if earlier is None:
            return None
        current, previous = await asyncio.gather(
            self._stats(info),
            info.context.loaders.flow_stats_by_flow.load((earlier, self.row.id)),
        )
        return FlowChanges(row=self.row, now=info.context.now, current=current, previous=previous)
