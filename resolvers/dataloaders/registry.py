"""All loaders of one request, each made when the request first uses it."""

from __future__ import annotations

from functools import cached_property

from aiodataloader import DataLoader

from persistence.snapshot import ReadSnapshot
from resolvers.dataloaders.domains import (
    DomainSetByWindowLoader,
    FlowsByDomainKeyLoader,
    FlowsWithStatsByDomainKeyLoader,
)
from resolvers.dataloaders.first_day import FirstDataDayLoader
from resolvers.dataloaders.flow_ranking import FlowRankingLoader
from resolvers.dataloaders.flows import FlowByIdLoader, FlowStatsByFlowLoader
from resolvers.dataloaders.overview_daily import OverviewDailyByWindowLoader
from resolvers.dataloaders.psa import (
    PsaDailyByWindowLoader,
    PsaTotalsByWindowLoader,
    PushFunnelByWindowLoader,
)
from resolvers.dataloaders.sessions import SessionCountsByDomainLoader, SessionTotalsByWindowLoader


class Loaders:
    """Fresh loaders (and caches) for one request of one account, over its snapshot.

    Each is made on first use: a tab reads through three or four of the twelve, and making
    one costs aiodataloader a coroutine-function inspection.
    """

    def __init__(self, snapshot: ReadSnapshot) -> None:
        self.snapshot = snapshot

    def release(self) -> None:
        """Drop every made loader's cached values, once the request is answered.

        graphql-core's execution context and the request context refer to each other, so
        only the cycle collector frees them; without this the values they reach (a large
        account's Coverage caches thousands of rows and futures) would wait for it too,
        and survive into the oldest generation, whose collections then pause a later
        request for milliseconds.
        """
        for made in vars(self).values():
            if isinstance(made, DataLoader):
                made.clear_all()

    @cached_property
    def session_totals_by_window(self) -> SessionTotalsByWindowLoader:
        return SessionTotalsByWindowLoader(self.snapshot)

    @cached_property
    def session_counts_by_domain(self) -> SessionCountsByDomainLoader:
        return SessionCountsByDomainLoader(self.snapshot)

    @cached_property
    def domain_set_by_window(self) -> DomainSetByWindowLoader:
        return DomainSetByWindowLoader(self.snapshot, counts=self.session_counts_by_domain)

    @cached_property
    def flows_by_domain_key(self) -> FlowsByDomainKeyLoader:
        return FlowsByDomainKeyLoader(self.snapshot)

    @cached_property
    def flow_by_id(self) -> FlowByIdLoader:
        return FlowByIdLoader(self.snapshot)

    @cached_property
    def flow_stats_by_flow(self) -> FlowStatsByFlowLoader:
        return FlowStatsByFlowLoader(self.snapshot)

    @cached_property
    def flows_with_stats_by_domain_key(self) -> FlowsWithStatsByDomainKeyLoader:
        return FlowsWithStatsByDomainKeyLoader(self.snapshot, stats=self.flow_stats_by_flow)

    @cached_property
    def flow_ranking(self) -> FlowRankingLoader:
        return FlowRankingLoader(self.snapshot)

    @cached_property
    def psa_totals_by_window(self) -> PsaTotalsByWindowLoader:
        return PsaTotalsByWindowLoader(self.snapshot)

    @cached_property
    def push_funnel_by_window(self) -> PushFunnelByWindowLoader:
        return PushFunnelByWindowLoader(self.snapshot)

    @cached_property
    def psa_daily_by_window(self) -> PsaDailyByWindowLoader:
        return PsaDailyByWindowLoader(self.snapshot)

    @cached_property
    def first_data_day(self) -> FirstDataDayLoader:
        return FirstDataDayLoader(self.snapshot)

    @cached_property
    def overview_daily_by_window(self) -> OverviewDailyByWindowLoader:
        return OverviewDailyByWindowLoader(self.snapshot)
