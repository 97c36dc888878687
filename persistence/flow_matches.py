"""Record that a session was matched to a flow, keeping the flow's lifetime counters true.

One transaction: the session row is locked first (`FOR UPDATE`), so two matches of the
same session are serialized and the second sees the first's result; the flow's counter
is raised by `usage_count = usage_count + 1` in SQL, so concurrent matches of different
sessions all count (no read-modify-write in Python). Recording the same (session, flow)
again changes nothing; re-matching a session to another flow counts for the new flow
(the old flow keeps its lifetime count).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.error_codes import ErrorCode
from persistence.tenancy import account_transaction


class FlowMatchError(Exception):
    """The match cannot be recorded; `code` is stable for API clients."""

    code = ErrorCode.BAD_USER_INPUT


class SessionNotFoundError(FlowMatchError):
    code = ErrorCode.NOT_FOUND


class FlowNotFoundError(FlowMatchError):
    code = ErrorCode.NOT_FOUND


class FlowArchivedError(FlowMatchError):
    code = ErrorCode.FLOW_ARCHIVED


class InvalidConfidenceError(FlowMatchError):
    code = ErrorCode.BAD_USER_INPUT


@dataclass(frozen=True)
class FlowMatch:
    """The outcome: `counted` is False when the session was already matched to the flow."""

    session_id: uuid.UUID
    flow_id: uuid.UUID
    match_confidence: float | None
    counted: bool
    usage_count: int
    last_matched_at: datetime | None
    flow_name: str
    flow_category: str | None
    flow_status: str


_LOCK_SESSION = text(
    "SELECT matched_flow_id, match_confidence FROM ai_sessions "
    "WHERE id = :session_id AND account_id = :account_id FOR UPDATE"
)
_FLOW = text(
    "SELECT status, usage_count, last_matched_at, name, category FROM trees "
    "WHERE id = :flow_id AND account_id = :account_id"
)
_SET_SESSION = text(
    "UPDATE ai_sessions SET matched_flow_id = :flow_id, match_confidence = :confidence "
    "WHERE id = :session_id AND account_id = :account_id"
)
# `greatest` keeps last_matched_at monotonic when matches commit out of order.
_COUNT_MATCH = text(
    """
    UPDATE trees
    SET usage_count = usage_count + 1,
        last_matched_at = greatest(last_matched_at, coalesce(:now, now()))
    WHERE id = :flow_id AND account_id = :account_id
    RETURNING usage_count, last_matched_at, name, category
    """
)


def _check_confidence(confidence: float | None) -> None:
    if confidence is not None and (not math.isfinite(confidence) or not 0 <= confidence <= 1):
        raise InvalidConfidenceError("confidence must be between 0 and 1")


async def record_flow_match_in(
    session: AsyncSession,
    account_id: uuid.UUID,
    session_id: uuid.UUID,
    flow_id: uuid.UUID,
    confidence: float | None,
    *,
    now: datetime | None = None,
) -> FlowMatch:
    """The match inside the caller's transaction (already bound to `account_id`)."""
    _check_confidence(confidence)
    ids = {"account_id": account_id, "session_id": session_id, "flow_id": flow_id}
    current = (await session.execute(_LOCK_SESSION, ids)).one_or_none()
    if current is None:
        raise SessionNotFoundError(f"session {session_id} not found")
    flow = (await session.execute(_FLOW, ids)).one_or_none()
    if flow is None:
        raise FlowNotFoundError(f"flow {flow_id} not found")
    if flow.status == "archived":
        raise FlowArchivedError(f"flow {flow_id} is archived and cannot be matched")
    if current.matched_flow_id == flow_id:
        return FlowMatch(
            session_id,
            flow_id,
            current.match_confidence,
            counted=False,
            usage_count=flow.usage_count,
            last_matched_at=flow.last_matched_at,
            flow_name=flow.name,
            flow_category=flow.category,
            flow_status=flow.status,
        )
    await session.execute(_SET_SESSION, {**ids, "confidence": confidence})
    counted = (await session.execute(_COUNT_MATCH, {**ids, "now": now})).one()
    return FlowMatch(
        session_id,
        flow_id,
        confidence,
        counted=True,
        usage_count=counted.usage_count,
        last_matched_at=counted.last_matched_at,
        flow_name=counted.name,
        flow_category=counted.category,
        flow_status=flow.status,
    )


async def record_flow_match(
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: uuid.UUID,
    session_id: uuid.UUID,
    flow_id: uuid.UUID,
    confidence: float | None,
    *,
    now: datetime | None = None,
) -> FlowMatch:
    """Match `session_id` to `flow_id` in one transaction of `account_id` (commits)."""
    async with account_transaction(sessionmaker, account_id) as session:
        return await record_flow_match_in(
            session, account_id, session_id, flow_id, confidence, now=now
        )
