"""The PSA push outbox: the intent is written before the PSA is called, completed after.

States: `pending` (written, PSA maybe called), `done` (the PSA accepted it and the
activity is logged), `failed` (the PSA refused it: nothing was created there),
`abandoned` (the outcome is unknown and was not retried, see `writes.psa_pushes`).
The PSA's external id is stored on the row the moment it is known, so a crash before
the activity is logged can be finished later without calling the PSA again.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.psa_activity import Activity, log_activity


@dataclass(frozen=True)
class OutboxRow:
    id: uuid.UUID
    account_id: uuid.UUID
    session_id: uuid.UUID
    activity_type: str
    provider: str
    psa_ticket_id: str
    hours_logged: float | None
    payload: dict[str, Any]
    idempotency_key: str | None
    state: str
    external_id: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Intent:
    """A push to make: what the PSA needs (`payload`) and what the log will record."""

    account_id: uuid.UUID
    session_id: uuid.UUID
    activity_type: str
    psa_ticket_id: str
    payload: dict[str, Any]
    hours_logged: float | None = None
    idempotency_key: str | None = None
    provider: str = "connectwise"


_COLUMNS = (
    "id, account_id, session_id, activity_type, provider, psa_ticket_id, hours_logged, "
    "payload, idempotency_key, state, external_id, attempts, last_error, created_at, updated_at"
)
_INSERT = text(
    f"""
    INSERT INTO psa_outbox (id, account_id, session_id, activity_type, provider, psa_ticket_id,
                            hours_logged, payload, idempotency_key)
    VALUES (:id, :account_id, :session_id, :activity_type, :provider, :psa_ticket_id,
            :hours_logged, CAST(:payload AS jsonb), :idempotency_key)
    ON CONFLICT ON CONSTRAINT uq_psa_outbox_idempotency DO NOTHING
    RETURNING {_COLUMNS}
    """
)
_BY_KEY = text(
    f"SELECT {_COLUMNS} FROM psa_outbox "
    "WHERE account_id = :account_id AND idempotency_key = :idempotency_key"
)
_BY_ID = text(f"SELECT {_COLUMNS} FROM psa_outbox WHERE account_id = :account_id AND id = :id")
_ATTEMPT = text(
    "UPDATE psa_outbox SET attempts = attempts + 1, updated_at = now() "
    "WHERE account_id = :account_id AND id = :id AND state = 'pending'"
)
_EXTERNAL_ID = text(
    "UPDATE psa_outbox SET external_id = :external_id, updated_at = now() "
    "WHERE account_id = :account_id AND id = :id AND state = 'pending'"
)
_FINISH = text(
    """
    UPDATE psa_outbox SET state = :state, last_error = :error, updated_at = now(),
        completed_at = now()
    WHERE account_id = :account_id AND id = :id AND state = 'pending'
    RETURNING id
    """
)
_COMPLETE = text(
    f"""
    UPDATE psa_outbox SET state = 'done', updated_at = now(), completed_at = now()
    WHERE account_id = :account_id AND id = :id AND state = 'pending'
      AND external_id IS NOT NULL
    RETURNING {_COLUMNS}
    """
)
_PENDING = text(
    f"SELECT {_COLUMNS} FROM psa_outbox WHERE account_id = :account_id AND state = 'pending' "
    "ORDER BY created_at FOR UPDATE SKIP LOCKED"
)
_PENDING_ACCOUNTS = text("SELECT id FROM psa_outbox_pending_account_ids() AS id")


def _row(mapping: Any) -> OutboxRow:
    return OutboxRow(**mapping._asdict())


async def create_intent(session: AsyncSession, intent: Intent) -> tuple[OutboxRow, bool]:
    """(row, created); with an idempotency key already used, the earlier row, not created."""
    values = {
        "id": uuid.uuid4(),
        "account_id": intent.account_id,
        "session_id": intent.session_id,
        "activity_type": intent.activity_type,
        "provider": intent.provider,
        "psa_ticket_id": intent.psa_ticket_id,
        "hours_logged": intent.hours_logged,
        "payload": json.dumps(intent.payload),
        "idempotency_key": intent.idempotency_key,
    }
    inserted = (await session.execute(_INSERT, values)).one_or_none()
    if inserted is not None:
        return _row(inserted), True
    existing = (await session.execute(_BY_KEY, values)).one()
    return _row(existing), False


async def get(session: AsyncSession, account_id: uuid.UUID, outbox_id: uuid.UUID) -> OutboxRow:
    return _row((await session.execute(_BY_ID, {"account_id": account_id, "id": outbox_id})).one())


async def count_attempt(session: AsyncSession, account_id: uuid.UUID, outbox_id: uuid.UUID) -> None:
    await session.execute(_ATTEMPT, {"account_id": account_id, "id": outbox_id})


async def record_external_id(
    session: AsyncSession, account_id: uuid.UUID, outbox_id: uuid.UUID, external_id: str
) -> None:
    """Remember what the PSA created, before anything else can fail."""
    await session.execute(
        _EXTERNAL_ID, {"account_id": account_id, "id": outbox_id, "external_id": external_id}
    )


async def finish(
    session: AsyncSession,
    account_id: uuid.UUID,
    outbox_id: uuid.UUID,
    state: str,
    error: str | None,
) -> bool:
    """Close a pending row as `failed` or `abandoned`; False when it was no longer pending."""
    params = {"account_id": account_id, "id": outbox_id, "state": state, "error": error}
    return (await session.execute(_FINISH, params)).one_or_none() is not None


async def complete(
    session: AsyncSession, account_id: uuid.UUID, outbox_id: uuid.UUID
) -> uuid.UUID | None:
    """Mark the row done and log its activity, in the caller's transaction.

    Returns the activity row's id, or None when the row was not pending with an external
    id (already completed by someone else, or not pushed yet). The row lock taken by the
    UPDATE serializes concurrent completers; the log's unique key makes a repeat a no-op.
    """
    done = await session.execute(_COMPLETE, {"account_id": account_id, "id": outbox_id})
    row = done.one_or_none()
    if row is None:
        return None
    outbox = _row(row)
    assert outbox.external_id is not None
    activity_id, _inserted = await log_activity(
        session,
        Activity(
            account_id=outbox.account_id,
            session_id=outbox.session_id,
            activity_type=outbox.activity_type,
            psa_ticket_id=outbox.psa_ticket_id,
            external_id=outbox.external_id,
            provider=outbox.provider,
            hours_logged=outbox.hours_logged,
        ),
    )
    return activity_id


async def pending(session: AsyncSession, account_id: uuid.UUID) -> list[OutboxRow]:
    """The account's pending rows, locked (SKIP LOCKED: rows a push is finishing are left)."""
    return [_row(r) for r in await session.execute(_PENDING, {"account_id": account_id})]


async def accounts_with_pending(session: AsyncSession) -> list[uuid.UUID]:
    """Ids of the accounts that have pending rows (the maintenance look-up, ids only)."""
    return [row.id for row in await session.execute(_PENDING_ACCOUNTS)]
