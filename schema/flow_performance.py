"""FlowPerformance: one flow's figures in a tab's window.

It has no id of its own (its numbers depend on the window), so a normalizing client
cache keeps it under the field that returned it and never mixes two periods; the flow
itself is `flow`, a `Flow` that caches may keep by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from core.metrics.flow_ranking import RankedFlow
from core.metrics.rows import FlowPeriodStats, FlowRow
from core.metrics.window import Window
from resolvers.context import Info
from schema.comparison import ComparisonPeriod, MetricChange, comparison_window, metric_change
from schema.enums import AttentionReason
from schema.flow import Flow
from schema.selection import selects_any

if TYPE_CHECKING:
    from schema.domain import Domain


@strawberry.type(description="How each period metric of a flow changed.")
class FlowChanges:
    row: strawberry.Private[FlowRow]
    now: strawberry.Private[datetime]
    current: strawberry.Private[FlowPeriodStats]
    previous: strawberry.Private[FlowPeriodStats]

    @strawberry.field(description="Change of usageCount.")
    def usage_count(self) -> MetricChange:
        return metric_change(self.current.usage, self.previous.usage)

    @strawberry.field(description="Change of successRate.")
    def success_rate(self) -> MetricChange:
        return metric_change(self.current.success_rate, self.previous.success_rate)

    @strawberry.field(description="Change of guidedRate.")
    def guided_rate(self) -> MetricChange:
        return metric_change(self.current.guided_rate, self.previous.guided_rate)

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
    """Built whole by the list that returns it (see `performances_of`): every figure is an
    attribute; only `domain`, `previous` and `changes` load more."""

    row: strawberry.Private[FlowRow]
    window: strawberry.Private[Window]
    compare: strawberry.Private[ComparisonPeriod | None]
    # The period statistics, or None when the selection needed none (see STATS_FIELDS).
    stats: strawberry.Private[FlowPeriodStats | None]
    flow: Flow = strawberry.field(description="The flow itself (the same in every window).")
    usage_count: int = strawberry.field(description="Sessions matched to this flow in the period.")
    success_rate: float | None = strawberry.field(
        description="Share of the period's matched sessions that were resolved."
    )
    guided_rate: float | None = strawberry.field(
        description="Share of the period's matched sessions that reached guided."
    )
    avg_confidence: float | None = strawberry.field(
        description="Mean match confidence of the period's matched sessions."
    )
    recency_score: float = strawberry.field(
        description="1 when matched just now, falling linearly to 0 at 90 days; 0 if never."
    )
    quality_score: float = strawberry.field(
        description="0.5 × successRate + 0.3 × guidedRate + 0.2 × recencyScore (null rates as 0)."
    )
    needs_attention: bool = strawberry.field(description="True when there is any attention reason.")
    attention_reasons: list[AttentionReason] = strawberry.field(
        description="LOW_SUCCESS_RATE, then STALE, where they apply."
    )

    @classmethod
    def of(
        cls,
        scores: RankedFlow,
        window: Window,
        compare: ComparisonPeriod | None = None,
        *,
        stats_loaded: bool = True,
    ) -> FlowPerformance:
        """The flow's figures from its scores (its row and statistics in `window`)."""
        row = scores.row
        return cls(
            row=row,
            window=window,
            compare=compare,
            stats=scores.stats if stats_loaded else None,
            flow=Flow.from_row(row),
            usage_count=scores.stats.usage,
            success_rate=scores.success_rate,
            guided_rate=scores.guided_rate,
            avg_confidence=scores.stats.avg_confidence,
            recency_score=scores.recency,
            quality_score=scores.quality,
            needs_attention=scores.needs_attention,
            attention_reasons=[AttentionReason(reason.value) for reason in scores.reasons],
        )

    @strawberry.field(
        description="The domain this flow covers (its category) in the same window, null "
        "when it has none."
    )
    async def domain(
        self, info: Info
    ) -> Annotated[Domain, strawberry.lazy("schema.domain")] | None:
        from schema.domain import domain_by_key

        if self.row.domain_key is None:
            return None
        return await domain_by_key(info, self.window, self.row.domain_key, self.compare)

    @strawberry.field(
        description="The same flow's figures in the comparison window; null unless compareTo "
        "is given."
    )
    async def previous(self, info: Info) -> FlowPerformance | None:
        earlier = comparison_window(self.window, self.compare)
        if earlier is None:
            return None
        (previous,) = await performances_of(info, earlier, [self.row], None)
        return previous

    @strawberry.field(
        description="Each period metric now, in the comparison window, and its change; "
        "null unless compareTo is given."
    )
    async def changes(self, info: Info) -> FlowChanges | None:
        earlier = comparison_window(self.window, self.compare)
        if earlier is None:
            return None
        loader = info.context.loaders.flow_stats_by_flow
        if self.stats is not None:
            current, previous = self.stats, await loader.load((earlier, self.row.id))
        else:
            current, previous = await loader.load_many(
                [(self.window, self.row.id), (earlier, self.row.id)]
            )
        return FlowChanges(row=self.row, now=info.context.now, current=current, previous=previous)


# The FlowPerformance fields computed from the period statistics.
STATS_FIELDS = frozenset(
    {
        "usageCount",
        "successRate",
        "guidedRate",
        "avgConfidence",
        "qualityScore",
        "needsAttention",
        "attentionReasons",
    }
)
# The FlowPerformance fields computed from the flow's scores at the request's `now`.
SCORE_FIELDS = frozenset({"recencyScore", "qualityScore", "needsAttention", "attentionReasons"})
NOT_LOADED = FlowPeriodStats()


async def performances_of(
    info: Info,
    window: Window,
    rows: Sequence[FlowRow],
    compare: ComparisonPeriod | None,
) -> list[FlowPerformance]:
    """The figures of `rows` in `window` for the current field's selection."""
    return await performances_of_rows(
        info,
        window,
        rows,
        compare,
        with_stats=selects_any(info, STATS_FIELDS),
        with_scores=selects_any(info, SCORE_FIELDS),
    )


async def performances_of_rows(
    info: Info,
    window: Window,
    rows: Sequence[FlowRow],
    compare: ComparisonPeriod | None,
    *,
    with_stats: bool,
    with_scores: bool = True,
) -> list[FlowPerformance]:
    """The figures of `rows` in `window`, their statistics loaded in one batch when
    `with_stats` (else those fields, which nobody reads, come from zero usage), scored at
    the request's `now` when `with_scores` (else the scores, read by nobody, are zero)."""
    if with_stats:
        loader = info.context.loaders.flow_stats_by_flow
        stats = await loader.load_many([(window, row.id) for row in rows])
    else:
        stats = [NOT_LOADED] * len(rows)
    now = info.context.now
    return [
        FlowPerformance.of(
            RankedFlow.of(row, row_stats, now)
            if with_scores
            else RankedFlow.unscored(row, row_stats),
            window,
            compare,
            stats_loaded=with_stats,
        )
        for row, row_stats in zip(rows, stats, strict=True)
    ]
