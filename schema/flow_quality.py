"""Flow Quality tab: every flow scored and ordered, with top, bottom and attention lists."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated

import strawberry

from resolvers import flow_ranking
from resolvers.context import Info
from resolvers.flow_ranking import RankedFlow
from schema.enums import FlowSort, SortDirection
from schema.errors import BadUserInput
from schema.flow_performance import FlowPerformance
from schema.tab_window import TabWindow

FirstArgument = Annotated[
    int | None,
    strawberry.argument(description="Return at most this many flows (all when omitted)."),
]
OffsetArgument = Annotated[
    int, strawberry.argument(description="Skip this many flows of the ordered list first.")
]


@strawberry.type(description="The Flow Quality tab.")
class FlowQuality(TabWindow):
    sort: strawberry.Private[FlowSort] = FlowSort.QUALITY
    direction: strawberry.Private[SortDirection] = SortDirection.DESC
    # The ranking is computed once per tab object, however many lists are selected.
    ranking: strawberry.Private[list[asyncio.Task[list[RankedFlow]]]] = dataclasses.field(
        default_factory=list
    )

    async def _ranked(self, info: Info) -> list[RankedFlow]:
        if not self.ranking:
            self.ranking.append(asyncio.ensure_future(self._rank(info)))
        return await self.ranking[0]

    async def _rank(self, info: Info) -> list[RankedFlow]:
        rows = await info.context.loaders.flows_with_stats_by_window.load(self.window)
        return [RankedFlow.of(row, stats, info.context.now) for row, stats in rows]

    def _flows(self, ranked: list[RankedFlow]) -> list[FlowPerformance]:
        return [
            FlowPerformance.from_row(
                flow.row, self.window, flow.stats, compare=self.compare, scores=flow
            )
            for flow in ranked
        ]

    @strawberry.field(description="Every non-archived flow of the account, in the requested order.")
    async def flows(
        self,
        info: Info,
        first: FirstArgument = None,
        offset: OffsetArgument = 0,
    ) -> list[FlowPerformance]:
        ordered = flow_ranking.sort_flows(
            await self._ranked(info), self.sort.name, self.direction is SortDirection.DESC
        )
        return self._flows(_page(ordered, first, offset))

    @strawberry.field(
        description="At most 5 flows with usageCount >= 1, qualityScore desc, then name."
    )
    async def top_performers(self, info: Info) -> list[FlowPerformance]:
        return self._flows(flow_ranking.top_performers(await self._ranked(info)))

    @strawberry.field(
        description="At most 5 flows with usageCount >= 1, qualityScore asc, then name."
    )
    async def bottom_performers(self, info: Info) -> list[FlowPerformance]:
        return self._flows(flow_ranking.bottom_performers(await self._ranked(info)))

    @strawberry.field(description="Flows with needsAttention, qualityScore asc, then name.")
    async def needs_attention(
        self,
        info: Info,
        first: FirstArgument = None,
        offset: OffsetArgument = 0,
    ) -> list[FlowPerformance]:
        flagged = flow_ranking.needing_attention(await self._ranked(info))
        return self._flows(_page(flagged, first, offset))

    @strawberry.field(description="How many flows need attention (for paging `needsAttention`).")
    async def needs_attention_count(self, info: Info) -> int:
        return sum(1 for flow in await self._ranked(info) if flow.needs_attention)

    @strawberry.field(description="The number of non-archived flows (for paging `flows`).")
    async def total_flows(self, info: Info) -> int:
        return len(await info.context.loaders.flows_with_stats_by_window.load(self.window))


def _page(flows: list[RankedFlow], first: int | None, offset: int) -> list[RankedFlow]:
    """`first` flows after skipping `offset` (all the rest when `first` is None)."""
    if first is not None and first < 0:
        raise BadUserInput("first must not be negative", argument="first")
    if offset < 0:
        raise BadUserInput("offset must not be negative", argument="offset")
    return flows[offset:] if first is None else flows[offset : offset + first]
