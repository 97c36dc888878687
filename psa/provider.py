"""The interface every PSA integration implements, and what a push returns.

The caller (a GraphQL mutation or the outbox worker) only needs `PushResult` to write
a `psa_activity_log` row: `activity_type`, `psa_ticket_id`, `hours_logged` and
`external_id` map one to one onto its columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

ActivityType = Literal["time_entry_posted", "note_posted", "status_updated"]


@dataclass(frozen=True)
class PushResult:
    """A push the PSA accepted.

    `external_id` is the record's id in the PSA (for a status change, see the provider's
    docs); with provider and activity type it identifies the push, so a retried push
    is logged once. `request_id` is the PSA's own request id (support tickets, logs).
    """

    activity_type: ActivityType
    psa_ticket_id: str
    external_id: str
    request_id: str | None = None
    hours_logged: float | None = None
    attempts: int = 1


class PsaProvider(Protocol):
    """A PSA that can receive time entries, ticket notes and status changes.

    Every method raises a `psa.errors.PsaError` subclass on failure. A note needs at
    least one of its display flags; `idempotency_key` (e.g. the outbox row id) makes a
    retried status change produce the same `external_id`.
    """

    name: str

    async def push_time_entry(
        self,
        ticket_id: str,
        member_id: int,
        time_start: datetime,
        time_end: datetime,
        actual_hours: float,
        notes: str,
    ) -> PushResult: ...

    async def push_ticket_note(
        self,
        ticket_id: str,
        text: str,
        *,
        detail_description: bool = False,
        internal_analysis: bool = False,
        resolution: bool = False,
        member_id: int | None = None,
        process_notifications: bool = False,
    ) -> PushResult: ...

    async def update_ticket_status(
        self,
        ticket_id: str,
        status_id: int,
        *,
        idempotency_key: str | None = None,
    ) -> PushResult: ...
