"""SQL fragments and parameters shared by the analytics queries."""

from __future__ import annotations

import uuid
from typing import Any

from persistence.analytics.window import Window

SESSIONS_IN_WINDOW = (
    "s.account_id = :account_id AND s.session_type = 'flowpilot'"
    " AND s.started_at >= :start AND s.started_at < :end"
)
ACTIVITIES_IN_WINDOW = (
    "p.account_id = :account_id AND p.created_at >= :start AND p.created_at < :end"
)


def window_params(account_id: uuid.UUID, window: Window) -> dict[str, Any]:
    """Bind parameters for SESSIONS_IN_WINDOW / ACTIVITIES_IN_WINDOW."""
    return {"account_id": account_id, "start": window.start, "end": window.end}
