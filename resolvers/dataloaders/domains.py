"""The domain set of a window, and the flows of each domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from persistence.analytics.domains import domain_set
from persistence.analytics.flows import flows_by_domain_keys
from persistence.analytics.rows import DomainSet, FlowRow
from persistence.analytics.window import Window
from resolvers.dataloaders.base import AccountLoader


class DomainSetByWindowLoader(AccountLoader[Window, DomainSet]):
    async def fetch(self, session: AsyncSession, keys: Sequence[Window]) -> list[DomainSet]:
        return [await domain_set(session, self.account_id, window) for window in keys]


class FlowsByDomainKeyLoader(AccountLoader[str, list[FlowRow]]):
    """Non-archived flows per domain key (not period-bound), ordered by name then id."""

    async def fetch(self, session: AsyncSession, keys: Sequence[str]) -> list[list[FlowRow]]:
        grouped = await flows_by_domain_keys(session, self.account_id, keys)
        return [grouped[key] for key in keys]
