"""Coverage tab: the domain heatmap, unmapped sessions and knowledge gaps."""

from __future__ import annotations

import strawberry

from resolvers.context import Info
from schema.domain import Domain, domains_of
from schema.tab_window import TabWindow


@strawberry.type(description="The Coverage tab: which problem domains have flows, and how well.")
class Coverage(TabWindow):
    async def _domains(self, info: Info, *, with_counts: bool | None = None) -> list[Domain]:
        domain_set = await info.context.loaders.domain_set_by_window.load(self.window)
        return await domains_of(
            info, self.window, domain_set.domains, self.compare, with_counts=with_counts
        )

    @strawberry.field(description="Every domain of the period, sessionCount desc, then name.")
    async def domains(self, info: Info) -> list[Domain]:
        return await self._domains(info)

    @strawberry.field(description="Sessions in the period with no problem domain.")
    async def unmapped_session_count(self, info: Info) -> int:
        domain_set = await info.context.loaders.domain_set_by_window.load(self.window)
        return domain_set.unmapped_session_count

    @strawberry.field(description="The number of domains in `domains`.")
    async def total_domains(self, info: Info) -> int:
        domain_set = await info.context.loaders.domain_set_by_window.load(self.window)
        return len(domain_set.domains)

    @strawberry.field(
        description="Domains with suggestCreateFlow, ordered by sessionCount desc, then name."
    )
    async def knowledge_gaps(self, info: Info) -> list[Domain]:
        return [
            domain
            for domain in await self._domains(info, with_counts=True)
            if domain.suggest_create_flow
        ]
