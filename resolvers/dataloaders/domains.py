"""The domain set of a window, and the flows of each domain."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from core.metrics.rows import DomainSet, FlowRow, SessionCounts
from core.metrics.window import Window
from persistence.analytics.domains import domain_set_with_counts
from persistence.analytics.flows import flows_by_domain_keys, flows_with_stats_by_domain_keys
from persistence.reader import Reader
from persistence.snapshot import ReadSnapshot
from resolvers.dataloaders.base import AccountLoader
from resolvers.dataloaders.flows import FlowStatsByFlowLoader
from resolvers.dataloaders.sessions import SessionCountsByDomainLoader


class DomainSetByWindowLoader(AccountLoader[Window, DomainSet]):
    """The statement that reads a window's domain set also reads each domain's session
    counts; they go into the counts loader's cache, so the domains' rates cost no more."""

    def __init__(self, snapshot: ReadSnapshot, counts: SessionCountsByDomainLoader) -> None:
        super().__init__(snapshot)
        self.counts = counts

    async def fetch(self, reader: Reader, keys: Sequence[Window]) -> list[DomainSet]:
        sets: list[DomainSet] = []
        for window in keys:
            found, counts = await domain_set_with_counts(reader, self.account_id, window)
            for row in found.domains:
                self.counts.prime((window, row.key), counts.get(row.key, NO_SESSIONS))
            sets.append(found)
        return sets


NO_SESSIONS = SessionCounts()


class FlowsByDomainKeyLoader(AccountLoader[tuple[str, int | None], list[FlowRow]]):
    """Keys are (domain key, at most how many flows or None for all): non-archived flows
    (not period-bound), ordered by name then id. One statement per distinct limit."""

    async def fetch(
        self, reader: Reader, keys: Sequence[tuple[str, int | None]]
    ) -> list[list[FlowRow]]:
        by_limit: dict[int | None, list[str]] = defaultdict(list)
        for domain_key, limit in keys:
            by_limit[limit].append(domain_key)
        found: dict[tuple[str, int | None], list[FlowRow]] = {}
        for limit, domain_keys in by_limit.items():
            grouped = await flows_by_domain_keys(reader, self.account_id, domain_keys, limit)
            found.update(((key, limit), rows) for key, rows in grouped.items())
        return [found[key] for key in keys]


class FlowsWithStatsByDomainKeyLoader(AccountLoader[tuple[Window, str, int | None], list[FlowRow]]):
    """As FlowsByDomainKeyLoader, for a window: the statement also reads the flows' period
    statistics, which go into the statistics loader's cache (one statement, not two)."""

    def __init__(self, snapshot: ReadSnapshot, stats: FlowStatsByFlowLoader) -> None:
        super().__init__(snapshot)
        self.stats = stats

    async def fetch(
        self, reader: Reader, keys: Sequence[tuple[Window, str, int | None]]
    ) -> list[list[FlowRow]]:
        groups: dict[tuple[Window, int | None], list[str]] = defaultdict(list)
        for window, domain_key, limit in keys:
            groups[window, limit].append(domain_key)
        found: dict[tuple[Window, str, int | None], list[FlowRow]] = {}
        for (window, limit), domain_keys in groups.items():
            grouped = await flows_with_stats_by_domain_keys(
                reader, self.account_id, window, domain_keys, limit
            )
            for domain_key, pairs in grouped.items():
                found[window, domain_key, limit] = [flow for flow, _stats in pairs]
                for flow, stats in pairs:
                    self.stats.prime((window, flow.id), stats)
        return [found[key] for key in keys]
