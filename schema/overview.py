"""Overview tab: headline session metrics, confidence tiers and the domain breakdown."""

from __future__ import annotations

import strawberry

from persistence.analytics import formulas
from persistence.analytics.rows import SessionCounts
from persistence.analytics.window import Window
from resolvers.context import Info
from schema.domain import Domain
from schema.enums import Period


@strawberry.type(description="Sessions per confidence tier reached.")
class ConfidenceTiers:
    guided: int = strawberry.field(description="Sessions that reached guided (≥ 0.8).")
    exploring: int = strawberry.field(description="Sessions that reached exploring (0.4–0.8).")
    discovery: int = strawberry.field(description="Sessions that stayed in discovery (< 0.4).")
    unknown: int = strawberry.field(description="Sessions with no tier recorded.")


@strawberry.type(description="The Overview tab: all FlowPilot sessions of the period.")
class Overview:
    period: Period = strawberry.field(description="The period these numbers cover.")
    window: strawberry.Private[Window]

    async def _counts(self, info: Info) -> SessionCounts:
        return await info.context.loaders.session_totals_by_window.load(self.window)

    @strawberry.field(description="FlowPilot sessions started in the period.")
    async def session_count(self, info: Info) -> int:
        return (await self._counts(info)).sessions

    @strawberry.field(description="Resolved sessions / sessions; null without sessions.")
    async def resolution_rate(self, info: Info) -> float | None:
        counts = await self._counts(info)
        return formulas.as_float(formulas.ratio(counts.resolved, counts.sessions))

    @strawberry.field(description="Escalated sessions / sessions; null without sessions.")
    async def escalation_rate(self, info: Info) -> float | None:
        counts = await self._counts(info)
        return formulas.as_float(formulas.ratio(counts.escalated, counts.sessions))

    @strawberry.field(description="Guided sessions / sessions; null without sessions.")
    async def guided_rate(self, info: Info) -> float | None:
        counts = await self._counts(info)
        return formulas.as_float(formulas.ratio(counts.guided, counts.sessions))

    @strawberry.field(description="Mean time to resolution, minutes.")
    async def mttr_minutes(self, info: Info) -> float | None:
        counts = await self._counts(info)
        return formulas.mean(counts.resolution_minutes_sum, counts.resolution_minutes_count)

    @strawberry.field(description="Mean rating (1–5) of rated sessions; null when none is rated.")
    async def avg_rating(self, info: Info) -> float | None:
        counts = await self._counts(info)
        return formulas.mean(counts.rating_sum, counts.rating_count)

    @strawberry.field(description="Sessions per confidence tier.")
    async def confidence_tiers(self, info: Info) -> ConfidenceTiers:
        counts = await self._counts(info)
        return ConfidenceTiers(
            guided=counts.guided,
            exploring=counts.exploring,
            discovery=counts.discovery,
            unknown=counts.unknown_tier,
        )

    @strawberry.field(
        description="Domain breakdown: domains with sessionCount >= 1, sessionCount desc, "
        "then name."
    )
    async def domains(self, info: Info) -> list[Domain]:
        domain_set = await info.context.loaders.domain_set_by_window.load(self.window)
        return [
            Domain(key=row.key, window=self.window, known_row=row)
            for row in domain_set.domains
            if row.session_count >= 1
        ]
