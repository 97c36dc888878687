"""Writes to `psa_activity_log`: one row per push the PSA accepted, logged once.

The unique key (account, provider, activity type, external id) is the idempotency key:
`ON CONFLICT DO NOTHING` makes a retried or recovered completion a no-op.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Activity:
    account_id: uuid.UUID
    session_id: uuid.UUID | None
    activity_type: str
    psa_ticket_id: str
    external_id: str
    provider: str = "connectwise"
    hours_logged: float | None = None


_INSERT = text(
    """
    INSERT INTO psa_activity_log (id, account_id, session_id, activity_type, hours_logged,
                                  psa_ticket_id, provider, external_id)
    VALUES (:id, :account_id, :session_id, :activity_type, :hours_logged,
            :psa_ticket_id, :provider, :external_id)
    ON CONFLICT ON CONSTRAINT uq_psa_activity_log_push DO NOTHING
    RETURNING id
    """
)
_FIND = text(
    "SELECT id FROM psa_activity_log WHERE account_id = :account_id AND provider = :provider "
    "AND activity_type = :activity_type AND external_id = :external_id"
)


async def log_activity(session: AsyncSession, activity: Activity) -> tuple[uuid.UUID, bool]:
    """(row id, inserted): the existing row's id when this push was already logged."""
    values = {
        "id": uuid.uuid4(),
        "account_id": activity.account_id,
        "session_id": activity.session_id,
        "activity_type": activity.activity_type,
        "hours_logged": activity.hours_logged,
        "psa_ticket_id": activity.psa_ticket_id,
        "provider": activity.provider,
        "external_id": activity.external_id,
    }
    inserted = (await session.execute(_INSERT, values)).scalar_one_or_none()
    if inserted is not None:
        return inserted, True
    existing = (await session.execute(_FIND, values)).scalar_one()
    return existing, False
