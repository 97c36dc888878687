"""Domain: a problem area, merging flow categories and session problem domains by key."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Annotated

import strawberry

from persistence.analytics import formulas
from persistence.analytics.rows import DomainRow, SessionCounts
from persistence.analytics.window import Window
from resolvers.context import Info
from schema.enums import Tier

if TYPE_CHECKING:
    from schema.flow import Flow


def _tier(level: formulas.TierLevel | None) -> Tier | None:
    return None if level is None else Tier(level.value)


@strawberry.type(description="A problem domain of the account in the period.")
class Domain:
    key: strawberry.Private[str]
    window: strawberry.Private[Window]
    known_row: strawberry.Private[DomainRow | None] = None

    async def _row(self, info: Info) -> DomainRow:
        if self.known_row is not None:
            return self.known_row
        domain_set = await info.context.loaders.domain_set_by_window.load(self.window)
        row = domain_set.by_key().get(self.key)
        return row if row is not None else DomainRow(self.key, self.key, 0, 0)

    async def _counts(self, info: Info) -> SessionCounts:
        return await info.context.loaders.session_counts_by_domain.load((self.window, self.key))

    async def _rate(self, info: Info, part: str) -> Fraction | None:
        counts = await self._counts(info)
        return formulas.ratio(getattr(counts, part), counts.sessions)

    @strawberry.field(description="The domain's name: its flows' category spelling.")
    async def name(self, info: Info) -> str:
        return (await self._row(info)).name

    @strawberry.field(description="Non-archived flows covering this domain (not period-bound).")
    async def flow_count(self, info: Info) -> int:
        return (await self._row(info)).flow_count

    @strawberry.field(description="FlowPilot sessions in the period with this domain.")
    async def session_count(self, info: Info) -> int:
        return (await self._row(info)).session_count

    @strawberry.field(description="Share of the domain's sessions resolved; null without sessions.")
    async def resolution_rate(self, info: Info) -> float | None:
        return formulas.as_float(await self._rate(info, "resolved"))

    @strawberry.field(description="Share of the domain's sessions escalated.")
    async def escalation_rate(self, info: Info) -> float | None:
        return formulas.as_float(await self._rate(info, "escalated"))

    @strawberry.field(description="Share of the domain's sessions that reached the guided tier.")
    async def guided_rate(self, info: Info) -> float | None:
        return formulas.as_float(await self._rate(info, "guided"))

    @strawberry.field(
        description="Mean minutes from start to resolution over resolved sessions with a "
        "resolution time."
    )
    async def avg_resolution_minutes(self, info: Info) -> float | None:
        counts = await self._counts(info)
        return formulas.mean(counts.resolution_minutes_sum, counts.resolution_minutes_count)

    @strawberry.field(description="The domain's flows, ordered by name.")
    async def flows(self, info: Info) -> list[Annotated[Flow, strawberry.lazy("schema.flow")]]:
        from schema.flow import Flow

        rows = await info.context.loaders.flows_by_domain_key.load(self.key)
        for row in rows:
            info.context.loaders.flow_by_id.prime(row.id, row)
        return [Flow.from_row(row, self.window) for row in rows]

    @strawberry.field(description="GOOD with 5+ flows, WARNING with 1–4, CRITICAL with none.")
    async def flow_count_tier(self, info: Info) -> Tier:
        level = formulas.flow_count_tier((await self._row(info)).flow_count)
        return Tier(level.value)

    @strawberry.field(
        description="GOOD > 75%, WARNING 50–75%, CRITICAL < 50%; null without sessions."
    )
    async def resolution_tier(self, info: Info) -> Tier | None:
        return _tier(formulas.resolution_tier(await self._rate(info, "resolved")))

    @strawberry.field(
        description="GOOD < 10%, WARNING 10–25%, CRITICAL > 25%; null without sessions."
    )
    async def escalation_tier(self, info: Info) -> Tier | None:
        return _tier(formulas.escalation_tier(await self._rate(info, "escalated")))

    @strawberry.field(
        description="GOOD > 60%, WARNING 30–60%, CRITICAL < 30%; null without sessions."
    )
    async def guided_tier(self, info: Info) -> Tier | None:
        return _tier(formulas.guided_tier(await self._rate(info, "guided")))

    @strawberry.field(description="True when any of the four tiers is CRITICAL.")
    async def suggest_create_flow(self, info: Info) -> bool:
        row = await self._row(info)
        return formulas.suggest_create_flow(row.flow_count, await self._counts(info))
