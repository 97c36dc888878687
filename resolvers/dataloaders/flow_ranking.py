"""Flow Quality's ordered lists: every list a request asks of one window, one statement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from core.metrics.window import Window
from persistence.analytics.flow_ranking import FlowPick, PickedFlows, rank_flows
from persistence.reader import Reader
from resolvers.dataloaders.base import AccountLoader

RankingKey = tuple[Window, datetime, FlowPick]


class FlowRankingLoader(AccountLoader[RankingKey, PickedFlows]):
    """Keys are (window, now, pick); the picks of one window and instant share a statement,
    so a tab costs one statement however many of its lists are selected."""

    async def fetch(self, reader: Reader, keys: Sequence[RankingKey]) -> list[PickedFlows]:
        grouped: dict[tuple[Window, datetime], list[FlowPick]] = defaultdict(list)
        for window, now, pick in dict.fromkeys(keys):
            grouped[window, now].append(pick)
        found: dict[RankingKey, PickedFlows] = {}
        for (window, now), picks in grouped.items():
            lists = await rank_flows(reader, self.account_id, window, now, picks)
            found.update(
                ((window, now, pick), picked) for pick, picked in zip(picks, lists, strict=True)
            )
        return [found[key] for key in keys]
