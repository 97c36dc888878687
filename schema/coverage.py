"""Coverage tab: the domain heatmap, unmapped sessions and knowledge gaps."""

from __future__ import annotations

import strawberry

from core.metrics import formulas
from resolvers.context import Info
from schema.domain import Domain, domains_of
from schema.tab_window import TabWindow


@strawberry.type(description="The Coverage tab: which problem domains have flows, and how well.")
class Coverage(TabWindow):
    @strawberry.field(description="Every domain of the period, sessionCount desc, then name.")
    async def domains(self, info: Info) -> list[Domain]:
        domain_set = await info.context.loaders.domain_set_by_window.load(self.window)
        return await domains_of(info, self.window, domain_set.domains, self.compare)

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
        # Only the gaps are built: their flag comes from the counts alone.
        loaders = info.context.loaders
        domain_set = await loaders.domain_set_by_window.load(self.window)
        rows = domain_set.domains
        counts = await loaders.session_counts_by_domain.load_many(
            [(self.window, row.key) for row in rows]
        )
        gaps = [
            row
            for row, row_counts in zip(rows, counts, strict=True)
            if formulas.suggest_create_flow(row.flow_count, row_counts)
        ]
        return await domains_of(info, self.window, gaps, self.compare, with_counts=True)
