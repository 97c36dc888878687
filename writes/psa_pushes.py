"""PSA pushes: outbox row first, then the provider call, then the activity log.

1. In one transaction: check the session (the caller's account, linked to a ticket) and
   write a `pending` outbox row with everything the call needs.
2. Call the PSA. A typed refusal (`PsaError`) closes the row as `failed` and is re-raised:
   no activity row is written. A create whose outcome is unknown (`PsaOutcomeUnknownError`:
   sent, but timed out or answered 5xx) closes it as `abandoned` with `OUTCOME_UNKNOWN`,
   so neither a replay of its idempotency key nor recovery sends it again.
3. Store the PSA's external id on the row at once (own transaction), then in one
   transaction mark the row `done` and insert exactly one `psa_activity_log` row
   (`ON CONFLICT` on the log's unique key `DO NOTHING`).

Recovery (at start-up and on a timer, `recover()`) finishes what a crash left `pending`:
- with an external id: the PSA did create the record, so the row is completed and the
  activity logged, without calling the PSA again;
- without one, once older than `stale_after` (longer than any push can take): a status
  change is re-sent (setting a ticket's status again is harmless and its external id
  comes from the outbox id, so it is logged once); a time entry or note is marked
  `abandoned` with `OUTCOME_UNKNOWN` and logged as a warning, never re-sent, because
  ConnectWise has no idempotency key and a second POST could double-post time or notes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.error_codes import ErrorCode
from persistence import psa_outbox
from persistence.psa_connections import StoredConnection, load_connection
from persistence.psa_outbox import Intent, OutboxRow
from persistence.tenancy import account_transaction
from psa.connectwise_clients import ConnectWiseProviders
from psa.credentials import validate_secret_key
from psa.errors import PsaConfigurationError, PsaError, PsaOutcomeUnknownError
from psa.provider import PsaProvider, PushResult

logger = logging.getLogger(__name__)

ProviderFactory = Callable[[StoredConnection, bytes], PsaProvider]
STALE_AFTER = timedelta(minutes=15)
MAX_HOURS = 24.0


class PushError(Exception):
    """A push refused before the PSA was called; `code` is stable for API clients."""

    code = ErrorCode.BAD_USER_INPUT


class SessionNotFound(PushError):
    code = ErrorCode.NOT_FOUND


class SessionNotLinked(PushError):
    code = ErrorCode.SESSION_NOT_LINKED


class PushInProgress(PushError):
    code = ErrorCode.CONFLICT


@dataclass(frozen=True)
class PushOutcome:
    """A push logged in `psa_activity_log`; `replayed` when an earlier push with the same
    idempotency key is returned instead of calling the PSA again."""

    outbox_id: uuid.UUID
    activity_id: uuid.UUID
    activity_type: str
    psa_ticket_id: str
    external_id: str
    hours_logged: float | None
    replayed: bool = False


@dataclass
class RecoveryReport:
    completed: int = 0
    retried: int = 0
    abandoned: int = 0
    waiting: int = 0
    failed: int = 0
    abandoned_ids: list[uuid.UUID] = field(default_factory=list)


_SESSION = text(
    "SELECT psa_ticket_id FROM ai_sessions WHERE id = :session_id AND account_id = :account_id"
)
_ACTIVITY_BY_PUSH = text(
    "SELECT id FROM psa_activity_log WHERE account_id = :account_id AND provider = :provider "
    "AND activity_type = :activity_type AND external_id = :external_id"
)
_REOPEN = text(
    "UPDATE psa_outbox SET state = 'pending', last_error = NULL, completed_at = NULL, "
    "updated_at = now() WHERE account_id = :account_id AND id = :id AND state = 'failed'"
)


class PsaPushService:
    """Pushes to each account's PSA with the outbox protocol above."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        secret_key: str | bytes | None,
        provider_factory: ProviderFactory | None = None,
        *,
        connectwise_hosts: Iterable[str] = (),
    ) -> None:
        self.sessionmaker = sessionmaker
        self._secret_key = secret_key
        self._connectwise: ConnectWiseProviders | None = None
        if provider_factory is None:
            self._connectwise = provider_factory = ConnectWiseProviders(
                extra_hosts=connectwise_hosts
            )
        self.provider_factory: ProviderFactory = provider_factory

    async def aclose(self) -> None:
        """Close the shared ConnectWise client (at shutdown)."""
        if self._connectwise is not None:
            await self._connectwise.aclose()

    # -- the three pushes -----------------------------------------------------------

    async def push_time_entry(
        self,
        account_id: uuid.UUID,
        session_id: uuid.UUID,
        *,
        hours: float,
        notes: str,
        time_start: datetime | None = None,
        member_id: int | None = None,
        idempotency_key: str | None = None,
    ) -> PushOutcome:
        """Hours worked on the session's ticket; `timeStart` defaults to now − hours."""
        if not 0 < hours <= MAX_HOURS:
            raise PushError(f"hours must be more than 0 and at most {MAX_HOURS:g}")
        if time_start is not None and time_start.tzinfo is None:
            raise PushError("timeStart must carry a time zone offset")

        def payload(connection: StoredConnection) -> dict[str, Any]:
            member = member_id if member_id is not None else connection.default_member_id
            if member is None:
                raise PushError("memberId is required: the PSA connection has no default member")
            start = time_start or (datetime.now(UTC) - timedelta(hours=hours))
            end = start + timedelta(hours=hours)
            return {
                "member_id": member,
                "time_start": start.isoformat(),
                "time_end": end.isoformat(),
                "actual_hours": hours,
                "notes": notes,
            }

        return await self._push(
            account_id, session_id, "time_entry_posted", payload, hours, idempotency_key
        )

    async def push_ticket_note(
        self,
        account_id: uuid.UUID,
        session_id: uuid.UUID,
        *,
        text: str,
        detail_description: bool = False,
        internal_analysis: bool = True,
        resolution: bool = False,
        idempotency_key: str | None = None,
    ) -> PushOutcome:
        """A note on the session's ticket, shown where the flags say (at least one)."""
        if not text.strip():
            raise PushError("text must not be empty")
        if not (detail_description or internal_analysis or resolution):
            raise PushError(
                "choose where the note shows: detailDescription, internalAnalysis or resolution"
            )
        body = {
            "text": text,
            "detail_description": detail_description,
            "internal_analysis": internal_analysis,
            "resolution": resolution,
        }
        return await self._push(
            account_id, session_id, "note_posted", lambda _c: body, None, idempotency_key
        )

    async def update_ticket_status(
        self,
        account_id: uuid.UUID,
        session_id: uuid.UUID,
        *,
        status_id: int,
        idempotency_key: str | None = None,
    ) -> PushOutcome:
        """Move the session's ticket to the board status `status_id`."""
        if status_id <= 0:
            raise PushError("statusId must be a positive ConnectWise status id")
        return await self._push(
            account_id,
            session_id,
            "status_updated",
            lambda _c: {"status_id": status_id},
            None,
            idempotency_key,
        )

    # -- the protocol ---------------------------------------------------------------

    def _key(self) -> bytes:
        if not self._secret_key:
            raise PsaConfigurationError("PSA_SECRET_KEY is not set on the server")
        return validate_secret_key(self._secret_key)

    async def _push(
        self,
        account_id: uuid.UUID,
        session_id: uuid.UUID,
        activity_type: str,
        payload: Callable[[StoredConnection], dict[str, Any]],
        hours: float | None,
        idempotency_key: str | None,
    ) -> PushOutcome:
        secret_key = self._key()
        async with account_transaction(self.sessionmaker, account_id) as session:
            ticket = (
                await session.execute(
                    _SESSION, {"session_id": session_id, "account_id": account_id}
                )
            ).one_or_none()
            if ticket is None:
                raise SessionNotFound(f"session {session_id} not found")
            if not (ticket.psa_ticket_id or "").strip():
                raise SessionNotLinked(f"session {session_id} is not linked to a PSA ticket")
            connection = await load_connection(session, account_id)
            if connection is None:
                raise PsaConfigurationError("no PSA connection is saved for this account")
            intent = Intent(
                account_id=account_id,
                session_id=session_id,
                activity_type=activity_type,
                psa_ticket_id=ticket.psa_ticket_id.strip(),
                payload=payload(connection),
                hours_logged=hours,
                idempotency_key=idempotency_key,
                provider=connection.provider,
            )
            row, created = await psa_outbox.create_intent(session, intent)
            if not created:
                replay = await self._replay(session, row)
                if replay is not None:
                    return replay
        return await self._execute(row, connection, secret_key)

    async def _replay(self, session: AsyncSession, row: OutboxRow) -> PushOutcome | None:
        """An idempotency key seen before: the earlier result, a conflict, or a new try."""
        if row.state == "done":
            return await self._outcome(session, row, replayed=True)
        if row.state == "failed":
            await session.execute(_REOPEN, {"account_id": row.account_id, "id": row.id})
            return None
        raise PushInProgress(
            f"the push with this idempotency key is {row.state}"
            + (": its outcome at the PSA is unknown" if row.state == "abandoned" else "")
        )

    async def _outcome(
        self, session: AsyncSession, row: OutboxRow, *, replayed: bool = False
    ) -> PushOutcome:
        assert row.external_id is not None
        activity_id = (
            await session.execute(
                _ACTIVITY_BY_PUSH,
                {
                    "account_id": row.account_id,
                    "provider": row.provider,
                    "activity_type": row.activity_type,
                    "external_id": row.external_id,
                },
            )
        ).scalar_one()
        return PushOutcome(
            outbox_id=row.id,
            activity_id=activity_id,
            activity_type=row.activity_type,
            psa_ticket_id=row.psa_ticket_id,
            external_id=row.external_id,
            hours_logged=row.hours_logged,
            replayed=replayed,
        )

    async def _execute(
        self, row: OutboxRow, connection: StoredConnection, secret_key: bytes
    ) -> PushOutcome:
        """Call the PSA for a pending row, then record and complete it."""
        account_id = row.account_id
        async with account_transaction(self.sessionmaker, account_id) as session:
            await psa_outbox.count_attempt(session, account_id, row.id)
        provider: PsaProvider | None = None
        try:
            provider = self.provider_factory(connection, secret_key)
            result = await _call(provider, row)
        except PsaOutcomeUnknownError as error:
            # Maybe created: never re-sent (a replay of its key is CONFLICT), like recovery.
            async with account_transaction(self.sessionmaker, account_id) as session:
                await psa_outbox.finish(
                    session, account_id, row.id, "abandoned", ErrorCode.OUTCOME_UNKNOWN
                )
            logger.warning(
                "psa push %s (%s, ticket %s) abandoned: %s, the PSA may or may not have it; "
                "check the ticket before pushing again request_id=%s",
                row.id,
                row.activity_type,
                row.psa_ticket_id,
                error.cause,
                error.request_id,
            )
            raise
        except PsaError as error:
            async with account_transaction(self.sessionmaker, account_id) as session:
                await psa_outbox.finish(session, account_id, row.id, "failed", error.code)
            logger.warning(
                "psa push %s (%s) failed: %s request_id=%s",
                row.id,
                row.activity_type,
                error.code,
                error.request_id,
            )
            raise
        finally:
            closer = getattr(provider, "aclose", None)
            if closer is not None:
                await closer()
        async with account_transaction(self.sessionmaker, account_id) as session:
            await psa_outbox.record_external_id(session, account_id, row.id, result.external_id)
        async with account_transaction(self.sessionmaker, account_id) as session:
            await psa_outbox.complete(session, account_id, row.id)
            done = await psa_outbox.get(session, account_id, row.id)
            outcome = await self._outcome(session, done)
        logger.info(
            "psa push %s (%s) logged: external_id=%s request_id=%s attempts=%d",
            row.id,
            row.activity_type,
            result.external_id,
            result.request_id,
            result.attempts,
        )
        return outcome

    # -- recovery -------------------------------------------------------------------

    async def recover(
        self, *, stale_after: timedelta = STALE_AFTER, now: datetime | None = None
    ) -> RecoveryReport:
        """Finish or report what crashes left pending (see the module docstring)."""
        report = RecoveryReport()
        clock = now or datetime.now(UTC)
        async with self.sessionmaker() as session, session.begin():
            accounts = await psa_outbox.accounts_with_pending(session)
        for account_id in accounts:
            to_retry: list[OutboxRow] = []
            async with account_transaction(self.sessionmaker, account_id) as session:
                for row in await psa_outbox.pending(session, account_id):
                    if row.external_id is not None:
                        if await psa_outbox.complete(session, account_id, row.id) is not None:
                            report.completed += 1
                    elif clock - row.updated_at < stale_after:
                        report.waiting += 1
                    elif row.activity_type == "status_updated":
                        to_retry.append(row)
                    else:
                        await psa_outbox.finish(
                            session, account_id, row.id, "abandoned", ErrorCode.OUTCOME_UNKNOWN
                        )
                        report.abandoned += 1
                        report.abandoned_ids.append(row.id)
                        logger.warning(
                            "psa push %s (%s, ticket %s) abandoned: the PSA may or may not "
                            "have it; check the ticket before pushing again",
                            row.id,
                            row.activity_type,
                            row.psa_ticket_id,
                        )
                connection = await load_connection(session, account_id) if to_retry else None
            for row in to_retry:
                try:
                    if connection is None:
                        raise PsaConfigurationError("no PSA connection is saved for this account")
                    await self._execute(row, connection, self._key())
                    report.retried += 1
                except PsaError as error:
                    report.failed += 1
                    logger.warning("psa push %s retry failed: %s", row.id, error.code)
        if report.completed or report.retried or report.abandoned or report.failed:
            logger.info(
                "psa outbox recovery: %d completed, %d retried, %d abandoned, %d failed, "
                "%d still in flight",
                report.completed,
                report.retried,
                report.abandoned,
                report.failed,
                report.waiting,
            )
        return report


async def _call(provider: PsaProvider, row: OutboxRow) -> PushResult:
    """Send one outbox row to the PSA, from its stored payload."""
    p = row.payload
    if row.activity_type == "time_entry_posted":
        return await provider.push_time_entry(
            row.psa_ticket_id,
            int(p["member_id"]),
            datetime.fromisoformat(p["time_start"]),
            datetime.fromisoformat(p["time_end"]),
            float(p["actual_hours"]),
            str(p["notes"]),
        )
    if row.activity_type == "note_posted":
        return await provider.push_ticket_note(
            row.psa_ticket_id,
            str(p["text"]),
            detail_description=bool(p["detail_description"]),
            internal_analysis=bool(p["internal_analysis"]),
            resolution=bool(p["resolution"]),
        )
    return await provider.update_ticket_status(
        row.psa_ticket_id, int(p["status_id"]), idempotency_key=str(row.id)
    )
