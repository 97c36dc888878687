"""The domain set of a window, and the flows of each domain."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics.rows import DomainSet, FlowRow
from core.metrics.window import Window
from persistence.analytics.domains import domain_set
from persistence.analytics.flows import flows_by_domain_keys
from resolvers.dataloaders.base import AccountLoader


class DomainSetByWindowLoader(AccountLoader[Window, DomainSet]):
    async def fetch(self, session: AsyncSession, keys: Sequence[Window]) -> list[DomainSet]:
        return [await domain_set(session, self.account_id, window) for window in keys]


class FlowsByDomainKeyLoader(AccountLoader[tuple[str, int | None], list[FlowRow]]):
    """Keys are (domain key, at most how many flows or None for all): non-archived flows
    (not period-bound), ordered by name then id. One statement per distinct limit."""

    async def fetch(
        self, session: AsyncSession, keys: Sequence[tuple[str, int | None]]
    ) -> list[list[FlowRow]]:
        by_limit: dict[int | None, list[str]] = defaultdict(list)
        for domain_key, limit in keys:
            by_limit[limit].append(domain_key)
        found: dict[tuple[str, int | None], list[FlowRow]] = {}
        for limit, domain_keys in by_limit.items():
            grouped = await flows_by_domain_keys(session, self.account_id, domain_keys, limit)
            found.update(((key, limit), rows) for key, rows in grouped.items())
        return [found[key] for key in keys]
