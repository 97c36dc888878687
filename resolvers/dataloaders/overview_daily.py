"""The Overview chart's daily points per window."""

from __future__ import annotations

from collections.abc import Sequence

from core.metrics.window import Window
from persistence.analytics.overview_daily import OverviewDay, overview_daily
from persistence.reader import Reader
from resolvers.dataloaders.base import AccountLoader


class OverviewDailyByWindowLoader(AccountLoader[Window, list[OverviewDay]]):
    async def fetch(self, reader: Reader, keys: Sequence[Window]) -> list[list[OverviewDay]]:
        return [await overview_daily(reader, self.account_id, window) for window in keys]
