"""The root Query: one field per analytics tab, plus one flow by id.

Every field takes the same window arguments: `period` (contract default), or a custom
`range` of local days instead, and an optional `compareTo` that enables the `previous`
and `changes` fields of the result.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated

import strawberry

from core.errors import BadUserInput
from resolvers.context import Info
from schema.comparison import ComparisonPeriod
from schema.coverage import Coverage
from schema.domain_aliases import DomainAliasQueries
from schema.enums import FlowSort, Period, PsaActivityType, SortDirection
from schema.evidence import (
    DEFAULT_PAGE,
    MAX_PAGE,
    EvidenceFilter,
    PsaActivityEvidence,
    SessionEvidence,
    activity_evidence,
    session_evidence,
)
from schema.flow_performance import FlowPerformance, performances_of
from schema.flow_quality import FlowQuality
from schema.overview import Overview
from schema.psa import PsaActivity
from schema.ranges import DateRangeInput, resolve_window

RangeArgument = Annotated[
    DateRangeInput | None,
    strawberry.argument(
        name="range",
        description="Custom local days instead of `period` (do not give both). "
        "BAD_USER_INPUT when invalid.",
    ),
]
PeriodArgument = Annotated[
    Period,
    strawberry.argument(
        description="The last 7, 30 or 90 local days of the account (LAST_30_DAYS by default)."
    ),
]
FirstArgument = Annotated[
    int | None,
    strawberry.argument(
        description=f"Rows per page, 1 to {MAX_PAGE} (null: {DEFAULT_PAGE}); the query's "
        "cost grows with it."
    ),
]
AfterArgument = Annotated[
    str | None,
    strawberry.argument(description="The previous page's pageInfo.endCursor (none: the first)."),
]
CompareArgument = Annotated[
    ComparisonPeriod | None,
    strawberry.argument(
        description="Compare with an earlier window: fills `previous` and `changes`."
    ),
]


@strawberry.type(description="Analytics of the caller's account; every field: team_admin or admin.")
class Query(DomainAliasQueries):
    @strawberry.field(description="Overview tab. team_admin or admin.")
    async def overview(
        self,
        info: Info,
        period: PeriodArgument = Period.LAST_30_DAYS,
        date_range: RangeArgument = None,
        compare_to: CompareArgument = None,
    ) -> Overview:
        window = await resolve_window(info, period, date_range)
        return Overview(period=period, window=window, compare=compare_to)

    @strawberry.field(description="Coverage tab. team_admin or admin.")
    async def coverage(
        self,
        info: Info,
        period: PeriodArgument = Period.LAST_30_DAYS,
        date_range: RangeArgument = None,
        compare_to: CompareArgument = None,
    ) -> Coverage:
        window = await resolve_window(info, period, date_range)
        return Coverage(period=period, window=window, compare=compare_to)

    @strawberry.field(description="Flow Quality tab. team_admin or admin.")
    async def flow_quality(
        self,
        info: Info,
        period: PeriodArgument = Period.LAST_30_DAYS,
        sort: Annotated[
            FlowSort, strawberry.argument(description="What the flows are ordered by.")
        ] = FlowSort.QUALITY,
        direction: Annotated[
            SortDirection, strawberry.argument(description="The order's direction.")
        ] = SortDirection.DESC,
        date_range: RangeArgument = None,
        compare_to: CompareArgument = None,
    ) -> FlowQuality:
        window = await resolve_window(info, period, date_range)
        return FlowQuality(
            period=period, sort=sort, direction=direction, window=window, compare=compare_to
        )

    @strawberry.field(description="PSA tab. team_admin or admin.")
    async def psa_activity(
        self,
        info: Info,
        period: PeriodArgument = Period.LAST_30_DAYS,
        date_range: RangeArgument = None,
        compare_to: CompareArgument = None,
    ) -> PsaActivity:
        window = await resolve_window(info, period, date_range)
        return PsaActivity(period=period, window=window, compare=compare_to)

    @strawberry.field(
        description="One flow of the caller's account with its figures in the period, or "
        "null. team_admin or admin."
    )
    async def flow(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The flow's id (a UUID).")],
        period: PeriodArgument = Period.LAST_30_DAYS,
        date_range: RangeArgument = None,
        compare_to: CompareArgument = None,
    ) -> FlowPerformance | None:
        try:
            flow_id = uuid.UUID(str(id))
        except ValueError:
            raise BadUserInput("id is not a flow id (a UUID)", argument="id") from None
        window = await resolve_window(info, period, date_range)
        row = await info.context.loaders.flow_by_id.load(flow_id)
        if row is None:
            return None
        (performance,) = await performances_of(info, window, [row], compare_to)
        return performance

    @strawberry.field(
        description="The sessions behind a count of the tabs (the filter names the count), "
        "newest first, one page at a time. team_admin or admin."
    )
    async def session_evidence(
        self,
        info: Info,
        filter: Annotated[
            EvidenceFilter | None,
            strawberry.argument(description="Which count's sessions (none: every session)."),
        ] = None,
        period: PeriodArgument = Period.LAST_30_DAYS,
        date_range: RangeArgument = None,
        first: FirstArgument = DEFAULT_PAGE,
        after: AfterArgument = None,
    ) -> SessionEvidence:
        window = await resolve_window(info, period, date_range)
        total, nodes, page_info = await session_evidence(info, window, filter, first, after)
        return SessionEvidence(
            period=period, window=window, total_count=total, nodes=nodes, page_info=page_info
        )

    @strawberry.field(
        description="The PSA pushes behind the PSA tab's counts (activityCounts, "
        "totalTimeEntries, a dailyTrend point), newest first, one page at a time. "
        "team_admin or admin."
    )
    async def psa_activity_evidence(
        self,
        info: Info,
        type: Annotated[
            PsaActivityType | None,
            strawberry.argument(description="Only pushes of this kind (none: every kind)."),
        ] = None,
        day: Annotated[
            datetime.date | None,
            strawberry.argument(description="Only pushes recorded on this local day."),
        ] = None,
        period: PeriodArgument = Period.LAST_30_DAYS,
        date_range: RangeArgument = None,
        first: FirstArgument = DEFAULT_PAGE,
        after: AfterArgument = None,
    ) -> PsaActivityEvidence:
        window = await resolve_window(info, period, date_range)
        total, nodes, page_info = await activity_evidence(info, window, type, day, first, after)
        return PsaActivityEvidence(
            period=period, window=window, total_count=total, nodes=nodes, page_info=page_info
        )
