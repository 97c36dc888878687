"""Flows by id and their period statistics."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from core.metrics.rows import FlowPeriodStats, FlowRow
from core.metrics.window import Window
from persistence.analytics.flows import flow_stats_by_ids, flows_by_ids
from persistence.reader import Reader
from resolvers.dataloaders.base import AccountLoader, group_by_window


class FlowByIdLoader(AccountLoader[uuid.UUID, FlowRow | None]):
    """None for unknown, archived or other accounts' ids."""

    async def fetch(self, reader: Reader, keys: Sequence[uuid.UUID]) -> list[FlowRow | None]:
        found = await flows_by_ids(reader, self.account_id, keys)
        return [found.get(key) for key in keys]


class FlowStatsByFlowLoader(AccountLoader[tuple[Window, uuid.UUID], FlowPeriodStats]):
    """Keys are (window, flow id); a flow without sessions gets zero usage."""

    async def fetch(
        self, reader: Reader, keys: Sequence[tuple[Window, uuid.UUID]]
    ) -> list[FlowPeriodStats]:
        found: dict[tuple[Window, uuid.UUID], FlowPeriodStats] = {}
        for window, ids in group_by_window(keys).items():
            stats = await flow_stats_by_ids(reader, self.account_id, window, ids)
            found.update(((window, flow_id), value) for flow_id, value in stats.items())
        return [found.get(key, FlowPeriodStats()) for key in keys]
