"""The root Query: one field per analytics tab, plus one flow by id."""

from __future__ import annotations

import uuid

import strawberry

from persistence.analytics.window import Window, last_days
from resolvers.context import Info
from schema.coverage import Coverage
from schema.enums import FlowSort, Period, SortDirection
from schema.errors import BadUserInput
from schema.flow import Flow
from schema.flow_quality import FlowQuality
from schema.overview import Overview
from schema.psa import PsaActivity


async def window_of(info: Info, period: Period) -> Window:
    """The period's window in the caller's account time zone, at the request's `now`."""
    context = info.context
    principal = context.require_principal()
    timezone = await context.loaders.timezone_by_account.load(principal.account_id)
    return last_days(period.days, timezone, context.now)


@strawberry.type(description="Analytics of the caller's account. team_admin or admin only.")
class Query:
    @strawberry.field(description="Overview tab. team_admin only.")
    async def overview(self, info: Info, period: Period = Period.LAST_30_DAYS) -> Overview:
        return Overview(period=period, window=await window_of(info, period))

    @strawberry.field(description="Coverage tab. team_admin only.")
    async def coverage(self, info: Info, period: Period = Period.LAST_30_DAYS) -> Coverage:
        return Coverage(period=period, window=await window_of(info, period))

    @strawberry.field(description="Flow Quality tab. team_admin only.")
    async def flow_quality(
        self,
        info: Info,
        period: Period = Period.LAST_30_DAYS,
        sort: FlowSort = FlowSort.QUALITY,
        direction: SortDirection = SortDirection.DESC,
    ) -> FlowQuality:
        return FlowQuality(
            period=period, sort=sort, direction=direction, window=await window_of(info, period)
        )

    @strawberry.field(description="PSA tab. team_admin only.")
    async def psa_activity(self, info: Info, period: Period = Period.LAST_30_DAYS) -> PsaActivity:
        return PsaActivity(period=period, window=await window_of(info, period))

    @strawberry.field(description="One flow of the caller's account, or null. team_admin only.")
    async def flow(
        self, info: Info, id: strawberry.ID, period: Period = Period.LAST_30_DAYS
    ) -> Flow | None:
        try:
            flow_id = uuid.UUID(str(id))
        except ValueError:
            raise BadUserInput("id is not a flow id (a UUID)", argument="id") from None
        row = await info.context.loaders.flow_by_id.load(flow_id)
        if row is None:
            return None
        return Flow.from_row(row, await window_of(info, period))
