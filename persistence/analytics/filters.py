"""SQL fragments and parameters shared by the analytics queries.

Sessions are read from rollups summed per dyadic block of account-local days (see
`persistence.models.rollups`): a window of local days is cut into at most two blocks
per level, so a 90-day window reads a handful of blocks per domain or flow instead of
every session. The raw-table fragments remain for the reference statements.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from core.metrics.window import Window
from persistence.models.rollups import TOP_LEVEL

SESSIONS_IN_WINDOW = (
    "s.account_id = :account_id AND s.session_type = 'flowpilot'"
    " AND s.started_at >= :start AND s.started_at < :end"
)
ACTIVITIES_IN_WINDOW = (
    "p.account_id = :account_id AND p.created_at >= :start AND p.created_at < :end"
)

EPOCH = date(1970, 1, 1)

# The window's blocks, as rows (level, block) joined against a rollup table `r`.
BLOCKS_IN_WINDOW = (
    "unnest(CAST(:levels AS smallint[]), CAST(:blocks AS integer[])) AS w(level, block)"
    " ON r.level = w.level AND r.block = w.block AND r.account_id = :account_id"
)
DAYS_IN_WINDOW = "r.account_id = :account_id AND r.day >= :first_day AND r.day <= :last_day"


def window_params(account_id: uuid.UUID, window: Window) -> dict[str, Any]:
    """Bind parameters for SESSIONS_IN_WINDOW / ACTIVITIES_IN_WINDOW."""
    return {"account_id": account_id, "start": window.start, "end": window.end}


def day_number(day: date) -> int:
    """Days since 1970-01-01, the rollups' day numbering."""
    return (day - EPOCH).days


def blocks(first: int, last: int, top_level: int = TOP_LEVEL) -> list[tuple[int, int]]:
    """The fewest aligned blocks (level, block) that tile day numbers first..last exactly.

    Block (k, b) covers days b·2^k .. (b+1)·2^k − 1; greedy from the left takes the
    largest aligned block that still fits, so each level appears at most twice.
    """
    tiles: list[tuple[int, int]] = []
    day = first
    while day <= last:
        level = 0
        while (
            level < top_level
            and day % (2 ** (level + 1)) == 0
            and day + 2 ** (level + 1) - 1 <= last
        ):
            level += 1
        tiles.append((level, day >> level))
        day += 2**level
    return tiles


def block_params(account_id: uuid.UUID, window: Window) -> dict[str, Any]:
    """Bind parameters for BLOCKS_IN_WINDOW and DAYS_IN_WINDOW."""
    tiles = blocks(day_number(window.first_day), day_number(window.last_day))
    return {
        "account_id": account_id,
        "levels": [level for level, _block in tiles],
        "blocks": [block for _level, block in tiles],
        "first_day": window.first_day,
        "last_day": window.last_day,
    }
