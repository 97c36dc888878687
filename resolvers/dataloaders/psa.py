"""PSA totals, push funnel and daily trend per window."""

from __future__ import annotations

from collections.abc import Sequence

from core.metrics.rows import PsaDay, PsaTotals, PushFunnelCounts
from core.metrics.window import Window
from persistence.analytics.psa import psa_daily, psa_totals, push_funnel
from persistence.reader import Reader
from resolvers.dataloaders.base import AccountLoader


class PsaTotalsByWindowLoader(AccountLoader[Window, PsaTotals]):
    async def fetch(self, reader: Reader, keys: Sequence[Window]) -> list[PsaTotals]:
        return [await psa_totals(reader, self.account_id, window) for window in keys]


class PushFunnelByWindowLoader(AccountLoader[Window, PushFunnelCounts]):
    async def fetch(self, reader: Reader, keys: Sequence[Window]) -> list[PushFunnelCounts]:
        return [await push_funnel(reader, self.account_id, window) for window in keys]


class PsaDailyByWindowLoader(AccountLoader[Window, list[PsaDay]]):
    async def fetch(self, reader: Reader, keys: Sequence[Window]) -> list[list[PsaDay]]:
        return [await psa_daily(reader, self.account_id, window) for window in keys]
