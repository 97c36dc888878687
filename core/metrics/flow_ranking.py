"""Ordering the Flow Quality table and picking top, bottom and needs-attention flows.

Ties go by name (code point order, as Python compares strings) then id, ascending,
whatever the direction; null success rates sort last in both directions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from core.metrics import formulas
from core.metrics.rows import FlowPeriodStats, FlowRow

TOP_BOTTOM_SIZE = 5


class FlowSort(Enum):
    """What a list of flows is ordered by (the GraphQL FlowSort enum is this one)."""

    QUALITY = "QUALITY"
    USAGE = "USAGE"
    SUCCESS_RATE = "SUCCESS_RATE"


@dataclass(frozen=True, slots=True)
class RankedFlow:
    """A flow with the period numbers derived from its statistics (and ordered by).

    Built for every flow of a large account per request, so it uses plain float rates
    (correctly rounded, equal to the exact fractions' nearest floats) instead of Fractions.
    """

    row: FlowRow
    stats: FlowPeriodStats
    quality: float
    recency: float
    success_rate: float | None
    guided_rate: float | None
    reasons: tuple[formulas.Attention, ...]

    @property
    def needs_attention(self) -> bool:
        return bool(self.reasons)

    @classmethod
    def of(cls, row: FlowRow, stats: FlowPeriodStats, now: datetime) -> RankedFlow:
        success = stats.success_rate.value
        guided = stats.guided_rate.value
        recency = formulas.recency_score(row.last_matched_at, now)
        return cls(
            row=row,
            stats=stats,
            quality=formulas.quality_score(success, guided, recency),
            recency=recency,
            success_rate=success,
            guided_rate=guided,
            reasons=tuple(formulas.attention_reasons(success, row.last_matched_at, now)),
        )

    @classmethod
    def unscored(cls, row: FlowRow, stats: FlowPeriodStats) -> RankedFlow:
        """The flow's rates without its scores at a `now` (recency, quality and attention
        zero), for a selection that shows none: a large account's Coverage previews
        hundreds of flows and no score."""
        return cls(
            row=row,
            stats=stats,
            quality=0.0,
            recency=0.0,
            success_rate=stats.success_rate.value,
            guided_rate=stats.guided_rate.value,
            reasons=(),
        )


# The value each sort orders by; None (only a success rate can be) sorts last.
_SORT_VALUE: dict[FlowSort, Callable[[RankedFlow], float | None]] = {
    FlowSort.QUALITY: lambda flow: flow.quality,
    FlowSort.USAGE: lambda flow: flow.stats.usage,
    FlowSort.SUCCESS_RATE: lambda flow: flow.success_rate,
}


def sort_flows(flows: Sequence[RankedFlow], sort: FlowSort, descending: bool) -> list[RankedFlow]:
    """Stable two-pass sort: tie order first (name, id ascending), then the value."""
    value_of = _SORT_VALUE[sort]
    tie_ordered = sorted(flows, key=lambda flow: (flow.row.name, flow.row.id))
    valued = [(value_of(flow), flow) for flow in tie_ordered]
    present = [(value, flow) for value, flow in valued if value is not None]
    missing = [flow for value, flow in valued if value is None]
    present.sort(key=lambda pair: pair[0], reverse=descending)
    return [flow for _, flow in present] + missing


def top_performers(flows: Sequence[RankedFlow]) -> list[RankedFlow]:
    used = [flow for flow in flows if flow.stats.usage >= 1]
    return sort_flows(used, FlowSort.QUALITY, descending=True)[:TOP_BOTTOM_SIZE]


def bottom_performers(flows: Sequence[RankedFlow]) -> list[RankedFlow]:
    used = [flow for flow in flows if flow.stats.usage >= 1]
    return sort_flows(used, FlowSort.QUALITY, descending=False)[:TOP_BOTTOM_SIZE]


def needing_attention(flows: Sequence[RankedFlow]) -> list[RankedFlow]:
    flagged = [flow for flow in flows if flow.needs_attention]
    return sort_flows(flagged, FlowSort.QUALITY, descending=False)
