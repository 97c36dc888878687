"""All loaders of one request, built together when the request's context is made."""

from __future__ import annotations

from persistence.snapshot import ReadSnapshot
from resolvers.dataloaders.domains import (
    DomainSetByWindowLoader,
    FlowsByDomainKeyLoader,
    FlowsWithStatsByDomainKeyLoader,
)
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
    """Fresh loaders (and caches) for one request of one account, over its snapshot."""

    def __init__(self, snapshot: ReadSnapshot) -> None:
        self.snapshot = snapshot
        scope = (snapshot,)
        self.session_totals_by_window = SessionTotalsByWindowLoader(*scope)
        self.session_counts_by_domain = SessionCountsByDomainLoader(*scope)
        self.domain_set_by_window = DomainSetByWindowLoader(
            snapshot, counts=self.session_counts_by_domain
        )
        self.flows_by_domain_key = FlowsByDomainKeyLoader(*scope)
        self.flow_by_id = FlowByIdLoader(*scope)
        self.flow_stats_by_flow = FlowStatsByFlowLoader(*scope)
        self.flows_with_stats_by_domain_key = FlowsWithStatsByDomainKeyLoader(
            snapshot, stats=self.flow_stats_by_flow
        )
        self.flow_ranking = FlowRankingLoader(*scope)
        self.psa_totals_by_window = PsaTotalsByWindowLoader(*scope)
        self.push_funnel_by_window = PushFunnelByWindowLoader(*scope)
        self.psa_daily_by_window = PsaDailyByWindowLoader(*scope)
        self.overview_daily_by_window = OverviewDailyByWindowLoader(*scope)
