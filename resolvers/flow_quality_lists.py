"""The Flow Quality tab's lists, each read ranked and paged from PostgreSQL.

Only the rows a list returns reach Python; their displayed numbers come from
`RankedFlow.of`, the same formulas the SQL ordering repeats exactly.
"""

from __future__ import annotations

from core.errors import BadUserInput
from core.metrics.flow_ranking import TOP_BOTTOM_SIZE, FlowSort, RankedFlow
from core.metrics.window import Window
from persistence.analytics.flow_ranking import FlowFilter, FlowPick, PickedFlows
from resolvers.context import Info


def check_paging(first: int | None, offset: int) -> None:
    if first is not None and first < 0:
        raise BadUserInput("first must not be negative", argument="first")
    if offset < 0:
        raise BadUserInput("offset must not be negative", argument="offset")


async def _picked(info: Info, window: Window, pick: FlowPick) -> PickedFlows:
    return await info.context.loaders.flow_ranking.load((window, info.context.now, pick))


async def _ranked(info: Info, window: Window, pick: FlowPick) -> list[RankedFlow]:
    now = info.context.now
    picked = await _picked(info, window, pick)
    return [RankedFlow.of(row, stats, now) for row, stats in picked.rows]


async def ordered(
    info: Info, window: Window, sort: FlowSort, descending: bool, first: int | None, offset: int
) -> list[RankedFlow]:
    """`first` flows (all when None) after `offset` in the order `sort` and direction."""
    check_paging(first, offset)
    pick = FlowPick(FlowFilter.ALL, sort, descending, first, offset)
    return await _ranked(info, window, pick)


async def top_performers(info: Info, window: Window) -> list[RankedFlow]:
    pick = FlowPick(FlowFilter.USED, FlowSort.QUALITY, True, TOP_BOTTOM_SIZE)
    return await _ranked(info, window, pick)


async def bottom_performers(info: Info, window: Window) -> list[RankedFlow]:
    pick = FlowPick(FlowFilter.USED, FlowSort.QUALITY, False, TOP_BOTTOM_SIZE)
    return await _ranked(info, window, pick)


def _attention(first: int | None, offset: int) -> FlowPick:
    return FlowPick(FlowFilter.FLAGGED, FlowSort.QUALITY, False, first, offset)


async def needing_attention(
    info: Info, window: Window, first: int | None, offset: int
) -> list[RankedFlow]:
    """Flagged flows, worst quality first, paged."""
    check_paging(first, offset)
    return await _ranked(info, window, _attention(first, offset))


async def needing_attention_count(info: Info, window: Window) -> int:
    return (await _picked(info, window, _attention(0, 0))).total


async def total_flows(info: Info, window: Window) -> int:
    pick = FlowPick(FlowFilter.ALL, FlowSort.QUALITY, True, 0)
    return (await _picked(info, window, pick)).total
