"""Session counts: overview totals per window, statistics per (window, domain key)."""

from __future__ import annotations

from collections.abc import Sequence

from core.metrics.rows import SessionCounts
from core.metrics.window import Window
from persistence.analytics.sessions import session_counts_by_domain, session_totals
from persistence.reader import Reader
from resolvers.dataloaders.base import AccountLoader, group_by_window


class SessionTotalsByWindowLoader(AccountLoader[Window, SessionCounts]):
    async def fetch(self, reader: Reader, keys: Sequence[Window]) -> list[SessionCounts]:
        return [await session_totals(reader, self.account_id, window) for window in keys]


class SessionCountsByDomainLoader(AccountLoader[tuple[Window, str], SessionCounts]):
    """Keys are (window, domain key); a domain without sessions gets zero counts."""

    async def fetch(
        self, reader: Reader, keys: Sequence[tuple[Window, str]]
    ) -> list[SessionCounts]:
        found: dict[tuple[Window, str], SessionCounts] = {}
        for window, domain_keys in group_by_window(keys).items():
            counts = await session_counts_by_domain(reader, self.account_id, window, domain_keys)
            found.update(((window, key), value) for key, value in counts.items())
        return [found.get(key, SessionCounts()) for key in keys]
