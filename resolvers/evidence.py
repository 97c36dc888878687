"""Evidence pages read in the request's snapshot, so they agree with the tabs beside them."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime

from core.errors import BadUserInput
from core.metrics.window import Window
from persistence.analytics.evidence import (
    ActivityCursor,
    ActivityFilter,
    EvidenceActivityRow,
    EvidenceSessionRow,
    SessionCursor,
    SessionFilter,
    activity_page,
    activity_total,
    pushes_of_sessions,
    session_page,
    session_total,
)
from persistence.reader import Reader
from persistence.snapshot import ReadSnapshot


@dataclass(frozen=True, slots=True)
class SessionPage:
    total: int
    rows: list[EvidenceSessionRow]
    pushes: dict[uuid.UUID, list[EvidenceActivityRow]]
    has_next: bool


@dataclass(frozen=True, slots=True)
class ActivityPage:
    total: int
    rows: list[EvidenceActivityRow]
    has_next: bool


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    """An opaque cursor: the last row's instant and id."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The instant and id of a cursor, or BAD_USER_INPUT for anything else."""
    try:
        at, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        instant = datetime.fromisoformat(at)
        if instant.tzinfo is None:
            raise ValueError(at)
        return instant, uuid.UUID(row_id)
    except ValueError:
        raise BadUserInput("after is not a cursor of this list", argument="after") from None


async def read_session_page(
    snapshot: ReadSnapshot,
    window: Window,
    where: SessionFilter,
    first: int,
    after: SessionCursor | None,
    *,
    with_total: bool = True,
    with_pushes: bool = True,
) -> SessionPage:
    """One page, its filter's total and the page's PSA pushes, in one turn of the snapshot."""

    async def work(reader: Reader) -> SessionPage:
        account_id = snapshot.account_id
        async with reader.custom_plans():
            total = await session_total(reader, account_id, window, where) if with_total else 0
            if with_total and total == 0:  # exact in this snapshot: nothing to look for
                return SessionPage(0, [], {}, False)
            rows, has_next = await session_page(reader, account_id, window, where, first, after)
            pushes = (
                await pushes_of_sessions(reader, account_id, [row.id for row in rows])
                if with_pushes
                else {}
            )
        return SessionPage(total, rows, pushes, has_next)

    return await snapshot.read(work)


async def read_activity_page(
    snapshot: ReadSnapshot,
    window: Window,
    where: ActivityFilter,
    first: int,
    after: ActivityCursor | None,
    *,
    with_total: bool = True,
) -> ActivityPage:
    async def work(reader: Reader) -> ActivityPage:
        account_id = snapshot.account_id
        async with reader.custom_plans():
            total = await activity_total(reader, account_id, window, where) if with_total else 0
            if with_total and total == 0:
                return ActivityPage(0, [], False)
            rows, has_next = await activity_page(reader, account_id, window, where, first, after)
        return ActivityPage(total, rows, has_next)

    return await snapshot.read(work)
