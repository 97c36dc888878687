"""The account's first data day, read once per request (every tab's window needs it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from persistence.analytics.first_day import first_data_day
from persistence.reader import Reader
from resolvers.dataloaders.base import AccountLoader

ACCOUNT = "account"  # the one key: the day is the account's, whatever the window


class FirstDataDayLoader(AccountLoader[str, date | None]):
    async def fetch(self, reader: Reader, keys: Sequence[str]) -> list[date | None]:
        day = await first_data_day(reader, self.account_id)
        return [day for _ in keys]
