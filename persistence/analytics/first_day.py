"""The account's first data day: the earliest local day with a FlowPilot session."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from persistence.analytics.filters import EPOCH
from persistence.reader import Reader

# The one-day (level 0) rollup blocks are numbered by local day, so the smallest block
# with a session is the first local day of data; it is read off the blocks' index.
_FIRST_DAY = """
    SELECT min(r.block) FROM rollup_session_blocks r
    WHERE r.account_id = :account_id AND r.level = 0 AND r.sessions > 0
"""


async def first_data_day(reader: Reader, account_id: uuid.UUID) -> date | None:
    """The local day of the account's first FlowPilot session, or None without sessions."""
    found = await reader.row(_FIRST_DAY, {"account_id": account_id})
    number = None if found is None else found[0]
    return None if number is None else EPOCH + timedelta(days=int(number))
