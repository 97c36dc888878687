"""The account's data state: version, database epoch and local date.

`read_state` reads it inside the request's REPEATABLE READ snapshot, after a miss has
executed there, so an entry is tagged with exactly the state it was computed from.
`current_state` reads the latest committed state in one round trip outside any
transaction, for a lookup: an entry tagged with that version was computed from the very
data a fresh execution would read now. Both read the database the tabs read (on a
replica, the standby's own state), so an entry is never ahead of or behind it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.metrics.window import local_today
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


_CURRENT = text("SELECT version, epoch, timezone FROM flowpilot_data_state(:a)")


async def current_state(
    engine: AsyncEngine, account_id: uuid.UUID, now: datetime
) -> DataState | None:
    """The latest committed state (autocommit: no BEGIN, no COMMIT); None: no account."""
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        row = (await autocommit.execute(_CURRENT, {"a": account_id})).one_or_none()
    if row is None:
        return None
    version, epoch, timezone = row
    return DataState(str(epoch), int(version), local_today(now, timezone))
