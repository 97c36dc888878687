"""Domain: a problem area, merging flow categories and session problem domains by key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import strawberry

from core.errors import BadUserInput
from core.metrics import formulas
from core.metrics.rows import DomainRow, FlowRow, SessionCounts
from core.metrics.window import Window
from resolvers.context import Info
from schema.comparison import ComparisonPeriod, MetricChange, comparison_window, metric_change
from schema.enums import Tier
from schema.selection import selects_any, selects_in, subfields

if TYPE_CHECKING:
    from schema.flow_performance import FlowPerformance


def _mean_minutes(counts: SessionCounts) -> float | None:
    return formulas.mean(counts.resolution_minutes_sum, counts.resolution_minutes_count)


@strawberry.type(description="How each period metric of a domain changed.")
class DomainChanges:
    current: strawberry.Private[SessionCounts]
    previous: strawberry.Private[SessionCounts]

    @strawberry.field(description="Change of sessionCount.")
    def session_count(self) -> MetricChange:
        return metric_change(self.current.sessions, self.previous.sessions)

    @strawberry.field(description="Change of resolutionRate.")
    def resolution_rate(self) -> MetricChange:
        return metric_change(self.current.resolution_rate, self.previous.resolution_rate)

    @strawberry.field(description="Change of escalationRate.")
    def escalation_rate(self) -> MetricChange:
        return metric_change(self.current.escalation_rate, self.previous.escalation_rate)

    @strawberry.field(description="Change of guidedRate.")
    def guided_rate(self) -> MetricChange:
        return metric_change(self.current.guided_rate, self.previous.guided_rate)

    @strawberry.field(description="Change of avgResolutionMinutes.")
    def avg_resolution_minutes(self) -> MetricChange:
        return metric_change(_mean_minutes(self.current), _mean_minutes(self.previous))


@strawberry.type(description="A problem domain of the account in the period.")
class Domain:
    """Built whole by the list that returns it: every number is an attribute, so a list of
    a hundred domains costs no resolver call per field."""

    key: strawberry.Private[str]
    window: strawberry.Private[Window]
    compare: strawberry.Private[ComparisonPeriod | None]
    name: str = strawberry.field(description="The domain's name: its flows' category spelling.")
    flow_count: int = strawberry.field(
        description="Non-archived flows covering this domain (not period-bound)."
    )
    session_count: int = strawberry.field(
        description="FlowPilot sessions in the period with this domain."
    )
    flow_count_tier: Tier = strawberry.field(
        description="GOOD with 5+ flows, WARNING with 1–4, CRITICAL with none."
    )
    resolution_rate: float | None = strawberry.field(
        description="Share of the domain's sessions resolved; null without sessions."
    )
    escalation_rate: float | None = strawberry.field(
        description="Share of the domain's sessions escalated."
    )
    guided_rate: float | None = strawberry.field(
        description="Share of the domain's sessions that reached the guided tier."
    )
    avg_resolution_minutes: float | None = strawberry.field(
        description="Mean minutes from start to resolution over resolved sessions with a "
        "resolution time."
    )
    resolution_tier: Tier | None = strawberry.field(
        description="GOOD > 75%, WARNING 50–75%, CRITICAL < 50%; null without sessions."
    )
    escalation_tier: Tier | None = strawberry.field(
        description="GOOD < 10%, WARNING 10–25%, CRITICAL > 25%; null without sessions."
    )
    guided_tier: Tier | None = strawberry.field(
        description="GOOD > 60%, WARNING 30–60%, CRITICAL < 30%; null without sessions."
    )
    suggest_create_flow: bool = strawberry.field(
        description="True when any of the four tiers is CRITICAL."
    )
    # The flow previews the query selects, by their `first` argument (see domains_of).
    previews: strawberry.Private[dict[int | None, list[FlowPerformance]]]

    @classmethod
    def build(
        cls,
        row: DomainRow,
        counts: SessionCounts,
        window: Window,
        compare: ComparisonPeriod | None,
        previews: dict[int | None, list[FlowPerformance]],
    ) -> Domain:
        """The domain with every number derived from its row and its session counts."""
        flow_tier = formulas.flow_count_tier(row.flow_count)
        tiers = formulas.session_tiers(counts)
        return cls(
            key=row.key,
            window=window,
            compare=compare,
            name=row.name,
            flow_count=row.flow_count,
            session_count=row.session_count,
            flow_count_tier=flow_tier,
            resolution_rate=counts.resolution_rate.value,
            escalation_rate=counts.escalation_rate.value,
            guided_rate=counts.guided_rate.value,
            avg_resolution_minutes=_mean_minutes(counts),
            resolution_tier=tiers.resolution,
            escalation_tier=tiers.escalation,
            guided_tier=tiers.guided,
            suggest_create_flow=formulas.any_critical(flow_tier, tiers),
            previews=previews,
        )

    @strawberry.field(
        description="The domain's flows with their figures in the same window, ordered by name."
    )
    def flows(
        self,
        first: Annotated[
            int | None,
            strawberry.argument(
                description="Return only the first this many flows by name (all when "
                "omitted); flowCount tells how many there are."
            ),
        ] = None,
    ) -> list[Annotated[FlowPerformance, strawberry.lazy("schema.flow_performance")]]:
        if first is not None and first < 0:
            raise BadUserInput("first must not be negative", argument="first")
        # domains_of loaded every `first` the query asks for, with the list.
        return self.previews[first]

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
            row = DomainRow(self.key, self.name, 0, 0)
        (domain,) = await domains_of(info, earlier, [row], None)
        return domain

    @strawberry.field(
        description="Each period metric now, in the comparison window, and its change; "
        "null unless compareTo is given."
    )
    async def changes(self, info: Info) -> DomainChanges | None:
        earlier = comparison_window(self.window, self.compare)
        if earlier is None:
            return None
        loader = info.context.loaders.session_counts_by_domain
        current, previous = await loader.load_many([(self.window, self.key), (earlier, self.key)])
        return DomainChanges(current=current, previous=previous)


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


async def domains_of(
    info: Info,
    window: Window,
    rows: Sequence[DomainRow],
    compare: ComparisonPeriod | None,
    *,
    with_counts: bool | None = None,
) -> list[Domain]:
    """Domains for `rows`, built whole in a fixed number of batches: their session counts
    when `with_counts` (by default: when the query selects a field that needs them; else
    those fields, which nobody reads, come from zero counts), and the flow previews the
    query selects, each `first` in one batch with the flows' statistics in one more."""
    if with_counts is None:
        with_counts = selects_any(info, COUNT_FIELDS)
    if with_counts:
        loader = info.context.loaders.session_counts_by_domain
        counts = await loader.load_many([(window, row.key) for row in rows])
    else:
        counts = [NOT_LOADED] * len(rows)
    previews = await _flow_previews(info, window, rows, compare)
    return [
        Domain.build(
            row,
            row_counts,
            window,
            compare,
            {first: by_row[index] for first, by_row in previews.items()},
        )
        for index, (row, row_counts) in enumerate(zip(rows, counts, strict=True))
    ]


async def _flow_previews(
    info: Info, window: Window, rows: Sequence[DomainRow], compare: ComparisonPeriod | None
) -> dict[int | None, list[list[FlowPerformance]]]:
    """For each `first` of the selected `flows` fields: every row's flows, in row order."""
    from schema.flow_performance import SCORE_FIELDS, STATS_FIELDS, performances_of_rows

    fields = subfields(info, "flows")
    firsts = {field.arguments.get("first") for field in fields}
    firsts = {first for first in firsts if first is None or first >= 0}
    if not firsts or not rows:
        return {first: [[] for _ in rows] for first in firsts}
    loaders = info.context.loaders
    with_stats = selects_in(info, fields, STATS_FIELDS)
    flows: dict[int | None, list[list[FlowRow]]] = {}
    for first in firsts:
        if with_stats:  # the previews' statistics come with them, in the same statement
            keys = [(window, row.key, first) for row in rows]
            flows[first] = await loaders.flows_with_stats_by_domain_key.load_many(keys)
        else:
            flows[first] = await loaders.flows_by_domain_key.load_many(
                [(row.key, first) for row in rows]
            )
    every_flow = {
        flow.id: flow for lists in flows.values() for flow_rows in lists for flow in flow_rows
    }
    performances = await performances_of_rows(
        info,
        window,
        list(every_flow.values()),
        compare,
        with_stats=with_stats,
        with_scores=selects_in(info, fields, SCORE_FIELDS),
    )
    by_id = {performance.row.id: performance for performance in performances}
    return {
        first: [[by_id[flow.id] for flow in flow_rows] for flow_rows in lists]
        for first, lists in flows.items()
    }


async def domain_by_key(
    info: Info, window: Window, key: str, compare: ComparisonPeriod | None = None
) -> Domain:
    """One domain of `window` (zero counts when it has no sessions then)."""
    domain_set = await info.context.loaders.domain_set_by_window.load(window)
    row = domain_set.by_key().get(key)
    if row is None:
        row = DomainRow(key, key, 0, 0)
    (domain,) = await domains_of(info, window, [row], compare)
    return domain


NOT_LOADED = SessionCounts()
