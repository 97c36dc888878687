"""Flow Quality tab: every flow scored and ordered, with top, bottom and attention lists."""

from __future__ import annotations

from typing import Annotated

import strawberry

from core.metrics.flow_ranking import RankedFlow
from core.metrics.samples import SMALL_SAMPLE_USAGE
from resolvers import flow_quality_lists as lists
from resolvers.context import Info
from schema.enums import FlowSort, SortDirection
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

    def _flows(self, ranked: list[RankedFlow]) -> list[FlowPerformance]:
        return [FlowPerformance.of(flow, self.window, self.compare) for flow in ranked]

    @strawberry.field(description="Every non-archived flow of the account, in the requested order.")
    async def flows(
        self,
        info: Info,
        first: FirstArgument = None,
        offset: OffsetArgument = 0,
    ) -> list[FlowPerformance]:
        descending = self.direction is SortDirection.DESC
        return self._flows(
            await lists.ordered(info, self.window, self.sort, descending, first, offset)
        )

    @strawberry.field(
        description="At most 5 flows with usageCount >= 1, qualityScore desc, then name."
    )
    async def top_performers(self, info: Info) -> list[FlowPerformance]:
        return self._flows(await lists.top_performers(info, self.window))

    @strawberry.field(
        description="At most 5 flows with usageCount >= 1, qualityScore asc, then name."
    )
    async def bottom_performers(self, info: Info) -> list[FlowPerformance]:
        return self._flows(await lists.bottom_performers(info, self.window))

    @strawberry.field(description="Flows with needsAttention, qualityScore asc, then name.")
    async def needs_attention(
        self,
        info: Info,
        first: FirstArgument = None,
        offset: OffsetArgument = 0,
    ) -> list[FlowPerformance]:
        return self._flows(await lists.needing_attention(info, self.window, first, offset))

    @strawberry.field(description="How many flows need attention (for paging `needsAttention`).")
    async def needs_attention_count(self, info: Info) -> int:
        return await lists.needing_attention_count(info, self.window)

    @strawberry.field(
        description="Flows whose usageCount in the period is below this number rest on too "
        "few sessions for their success rate and quality score to be compared with "
        "others' (a client marks them as a small sample)."
    )
    def small_sample_usage(self) -> int:
        return SMALL_SAMPLE_USAGE

    @strawberry.field(description="The number of non-archived flows (for paging `flows`).")
    async def total_flows(self, info: Info) -> int:
        return await lists.total_flows(info, self.window)
