"""Account facts needed once per request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from persistence.analytics.accounts import account_timezone
from resolvers.dataloaders.base import AccountLoader


class TimezoneByAccountLoader(AccountLoader[uuid.UUID, str]):
    """The account's time zone ('UTC' if the account row is missing)."""

    async def fetch(self, session: AsyncSession, keys: Sequence[uuid.UUID]) -> list[str]:
        return [await account_timezone(session, key) or "UTC" for key in keys]
