"""The data version as the request's snapshot sees it (one statement, inside the snapshot).

Read in the same REPEATABLE READ transaction that executes a miss, so an entry is tagged
with exactly the state it was computed from; on a replica the standby's own version is
read, so an entry is never newer or older than what that standby shows.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.analytics.window import local_today
from persistence.snapshot import ReadSnapshot
from service.response_cache.key import DataState

_STATE = text(
    "SELECT coalesce((SELECT version FROM account_data_versions WHERE account_id = :a), 0),"
    " (SELECT epoch FROM data_version_epoch LIMIT 1),"
    " (SELECT timezone FROM accounts WHERE id = :a)"
)


async def read_state(
    snapshot: ReadSnapshot, account_id: uuid.UUID, now: datetime
) -> DataState | None:
    """None when the account does not exist (nothing to cache)."""

    async def work(session: AsyncSession) -> DataState | None:
        version, epoch, timezone = (await session.execute(_STATE, {"a": account_id})).one()
        if timezone is None:
            return None
        return DataState(str(epoch), int(version), local_today(now, timezone))

    return await snapshot.read(work)
