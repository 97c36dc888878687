"""The root Mutation: flow matches, PSA pushes, the PSA connection settings and the domain
aliases (schema.domain_aliases).

Every field declares its roles with `RequireRoles`; the schema builder closes any field
that does not (admin only). The account is always the caller's (from the token): a
session or flow of another account is `NOT_FOUND`, never told apart from a missing one.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import strawberry
from sqlalchemy.exc import IntegrityError
from strawberry.utils.str_converters import to_camel_case

from core.errors import (
    BadUserInput,
    Conflict,
    FlowArchived,
    NotFound,
    PsaFailure,
    SessionNotLinked,
)
from persistence import flow_matches
from persistence.psa_connections import (
    ConnectionSettings,
    PrivateKeyRequiredError,
    StoredConnection,
    save_connection,
)
from persistence.tenancy import account_transaction
from psa.credentials import validate_secret_key
from psa.errors import PsaConfigurationError, PsaError
from psa.sites import SiteError, allowed_codebase, allowed_site
from resolvers.context import Info
from schema.access import RequireRoles
from schema.domain_aliases import DomainAliasMutations
from schema.enums import PsaActivityType
from schema.flow import Flow, FlowStatus
from writes import psa_pushes
from writes.psa_pushes import PsaPushService, PushOutcome

MATCH_ROLES = frozenset({"admin", "service"})
PUSH_ROLES = frozenset({"engineer", "team_admin", "admin", "service"})
SETTINGS_ROLES = frozenset({"admin"})

T = TypeVar("T")


def _session_id() -> Any:
    """A fresh field each time: strawberry binds a field object to one class."""
    return strawberry.field(description="The session, of the caller's account.")


def _idempotency_key() -> Any:
    return strawberry.field(
        default=None, description="Send the same key when retrying: the push is made once."
    )


def _uuid(value: strawberry.ID, argument: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise BadUserInput(f"{argument} is not a UUID", argument=argument) from None


def _plain_text(input: object) -> None:
    """PostgreSQL text cannot hold NUL characters: refuse them as bad input, not a crash."""
    for name, value in vars(input).items():
        if isinstance(value, str) and "\x00" in value:
            field = to_camel_case(name)
            raise BadUserInput(f"{field} must not contain NUL characters", fields=[field])


async def _mapped(call: Callable[[], Awaitable[T]]) -> T:
    """Run a write and turn the domain's typed errors into GraphQL errors with codes."""
    try:
        return await call()
    except (flow_matches.SessionNotFoundError, psa_pushes.SessionNotFound):
        raise NotFound("session not found") from None
    except flow_matches.FlowNotFoundError:
        raise NotFound("flow not found") from None
    except flow_matches.FlowArchivedError as error:
        raise FlowArchived(str(error)) from None
    except psa_pushes.SessionNotLinked as error:
        raise SessionNotLinked(str(error)) from None
    except psa_pushes.PushInProgress as error:
        raise Conflict(str(error)) from None
    except (flow_matches.FlowMatchError, psa_pushes.PushError) as error:
        raise BadUserInput(str(error)) from None
    except PsaError as error:
        raise PsaFailure(error.message, **error.extensions) from None


@strawberry.input(description="A session matched to a flow by FlowPilot.")
class RecordFlowMatchInput:
    session_id: strawberry.ID = _session_id()
    flow_id: strawberry.ID = strawberry.field(description="The flow, of the caller's account.")
    confidence: float | None = strawberry.field(default=None, description="The match score, 0..1.")


@strawberry.type(description="The session's match and the flow's lifetime counters after it.")
class FlowMatchResult:
    session_id: strawberry.ID = strawberry.field(description="The matched session.")
    flow_id: strawberry.ID = strawberry.field(description="The flow it is matched to.")
    match_confidence: float | None = strawberry.field(
        description="The session's match score as stored."
    )
    counted: bool = strawberry.field(
        description="False when the session was already matched to this flow (nothing changed)."
    )
    total_usage_count: int = strawberry.field(description="trees.usage_count after the match.")
    last_matched_at: datetime.datetime | None = strawberry.field(
        description="trees.last_matched_at after the match."
    )
    flow: Flow = strawberry.field(
        description="The flow after the match, so a client cache updates its lifetime counters."
    )


@strawberry.input(description="Hours worked on the session's PSA ticket.")
class PushTimeEntryInput:
    session_id: strawberry.ID = _session_id()
    hours: float = strawberry.field(description="More than 0, at most 24.")
    notes: str = strawberry.field(default="", description="The time entry's notes.")
    time_start: datetime.datetime | None = strawberry.field(
        default=None, description="When the work started; default: now minus hours."
    )
    member_id: int | None = strawberry.field(
        default=None, description="The ConnectWise member; default: the connection's."
    )
    idempotency_key: str | None = _idempotency_key()


@strawberry.input(description="A note on the session's PSA ticket.")
class PushTicketNoteInput:
    session_id: strawberry.ID = _session_id()
    text: str = strawberry.field(description="The note's text.")
    detail_description: bool = strawberry.field(
        default=False, description="Show it in the ticket's detail description."
    )
    internal_analysis: bool = strawberry.field(
        default=True, description="Show it in the ticket's internal analysis."
    )
    resolution: bool = strawberry.field(
        default=False, description="Show it in the ticket's resolution."
    )
    idempotency_key: str | None = _idempotency_key()


@strawberry.input(description="A status change of the session's PSA ticket.")
class UpdateTicketStatusInput:
    session_id: strawberry.ID = _session_id()
    status_id: int = strawberry.field(description="A status id of the ticket's board.")
    idempotency_key: str | None = _idempotency_key()


@strawberry.type(description="A push the PSA accepted, as logged in the PSA activity log.")
class PsaPush:
    activity_id: strawberry.ID = strawberry.field(description="The psa_activity_log row.")
    type: PsaActivityType = strawberry.field(description="The kind of push.")
    psa_ticket_id: str = strawberry.field(description="The ticket pushed to.")
    external_id: str = strawberry.field(description="The record's id in the PSA.")
    hours_logged: float | None = strawberry.field(description="Hours, for a time entry.")
    replayed: bool = strawberry.field(
        description="True when an earlier push with the same idempotency key is returned."
    )

    @classmethod
    def of(cls, outcome: PushOutcome) -> PsaPush:
        return cls(
            activity_id=strawberry.ID(str(outcome.activity_id)),
            type=PsaActivityType(outcome.activity_type.upper()),
            psa_ticket_id=outcome.psa_ticket_id,
            external_id=outcome.external_id,
            hours_logged=outcome.hours_logged,
            replayed=outcome.replayed,
        )


@strawberry.input(description="ConnectWise Manage API settings of the caller's account.")
class PsaConnectionInput:
    site: str = strawberry.field(
        description="A bare host name: na|eu|au|za.myconnectwise.net or its api- form, "
        "or a host the operator allows (on-premise)."
    )
    codebase: str = strawberry.field(description="e.g. v4_6_release/")
    company_id: str = strawberry.field(description="The ConnectWise company id.")
    public_key: str = strawberry.field(description="The API member's public key.")
    client_id: str = strawberry.field(description="The integration's clientId (a GUID).")
    private_key: str | None = strawberry.field(
        default=None,
        description="Write-only; required on the first save and whenever site, companyId or "
        "publicKey change; omitted otherwise to keep the stored one.",
    )
    default_member_id: int | None = strawberry.field(
        default=None, description="The ConnectWise member time entries go to by default."
    )


@strawberry.type(description="The saved PSA settings; the private key is never returned.")
class PsaSettings:
    provider: str = strawberry.field(description="The PSA: connectwise.")
    site: str = strawberry.field(description="The ConnectWise host.")
    codebase: str = strawberry.field(description="The ConnectWise codebase.")
    company_id: str = strawberry.field(description="The ConnectWise company id.")
    public_key: str = strawberry.field(description="The API member's public key.")
    client_id: str = strawberry.field(description="The integration's clientId.")
    default_member_id: int | None = strawberry.field(
        description="The member time entries go to by default."
    )
    has_private_key: bool = strawberry.field(description="A private key is stored (encrypted).")
    updated_at: datetime.datetime = strawberry.field(description="When it was last saved.")

    @classmethod
    def of(cls, stored: StoredConnection) -> PsaSettings:
        return cls(
            provider=stored.provider,
            site=stored.site,
            codebase=stored.codebase,
            company_id=stored.company_id,
            public_key=stored.public_key,
            client_id=stored.client_id,
            default_member_id=stored.default_member_id,
            has_private_key=bool(stored.private_key_encrypted),
            updated_at=stored.updated_at,
        )


def _pushes(info: Info) -> PsaPushService:
    service: PsaPushService = info.context.request.app.state.psa_pushes
    return service


@strawberry.type(description="Writes. Each field names the roles it accepts.")
class Mutation(DomainAliasMutations):
    @strawberry.mutation(
        description="Record that a session matched a flow. admin or service.",
        extensions=[RequireRoles(MATCH_ROLES)],
    )
    async def record_flow_match(
        self,
        info: Info,
        input: Annotated[RecordFlowMatchInput, strawberry.argument(description="What to write.")],
    ) -> FlowMatchResult:
        _plain_text(input)
        principal = info.context.require_principal()
        session_id = _uuid(input.session_id, "sessionId")
        flow_id = _uuid(input.flow_id, "flowId")
        match = await _mapped(
            lambda: flow_matches.record_flow_match(
                info.context.sessionmaker,
                principal.account_id,
                session_id,
                flow_id,
                input.confidence,
                now=info.context.now,
            )
        )
        return FlowMatchResult(
            session_id=strawberry.ID(str(match.session_id)),
            flow_id=strawberry.ID(str(match.flow_id)),
            match_confidence=match.match_confidence,
            counted=match.counted,
            total_usage_count=match.usage_count,
            last_matched_at=match.last_matched_at,
            flow=Flow(
                id=strawberry.ID(str(match.flow_id)),
                name=match.flow_name,
                category=match.flow_category,
                status=FlowStatus.of(match.flow_status),
                total_usage_count=match.usage_count,
                last_matched_at=match.last_matched_at,
            ),
        )

    @strawberry.mutation(
        description="Log hours on the session's ticket. engineer, team_admin, admin, service.",
        extensions=[RequireRoles(PUSH_ROLES)],
    )
    async def push_time_entry(
        self,
        info: Info,
        input: Annotated[PushTimeEntryInput, strawberry.argument(description="What to write.")],
    ) -> PsaPush:
        _plain_text(input)
        account_id = info.context.require_principal().account_id
        session_id = _uuid(input.session_id, "sessionId")
        outcome = await _mapped(
            lambda: _pushes(info).push_time_entry(
                account_id,
                session_id,
                hours=input.hours,
                notes=input.notes,
                time_start=input.time_start,
                member_id=input.member_id,
                idempotency_key=input.idempotency_key,
            )
        )
        return PsaPush.of(outcome)

    @strawberry.mutation(
        description="Add a note to the session's ticket. engineer, team_admin, admin, service.",
        extensions=[RequireRoles(PUSH_ROLES)],
    )
    async def push_ticket_note(
        self,
        info: Info,
        input: Annotated[PushTicketNoteInput, strawberry.argument(description="What to write.")],
    ) -> PsaPush:
        _plain_text(input)
        account_id = info.context.require_principal().account_id
        session_id = _uuid(input.session_id, "sessionId")
        outcome = await _mapped(
            lambda: _pushes(info).push_ticket_note(
                account_id,
                session_id,
                text=input.text,
                detail_description=input.detail_description,
                internal_analysis=input.internal_analysis,
                resolution=input.resolution,
                idempotency_key=input.idempotency_key,
            )
        )
        return PsaPush.of(outcome)

    @strawberry.mutation(
        description="Change the status of the session's ticket. "
        "engineer, team_admin, admin, service.",
        extensions=[RequireRoles(PUSH_ROLES)],
    )
    async def update_ticket_status(
        self,
        info: Info,
        input: Annotated[
            UpdateTicketStatusInput, strawberry.argument(description="What to write.")
        ],
    ) -> PsaPush:
        _plain_text(input)
        account_id = info.context.require_principal().account_id
        session_id = _uuid(input.session_id, "sessionId")
        outcome = await _mapped(
            lambda: _pushes(info).update_ticket_status(
                account_id,
                session_id,
                status_id=input.status_id,
                idempotency_key=input.idempotency_key,
            )
        )
        return PsaPush.of(outcome)

    @strawberry.mutation(
        description="Save the account's ConnectWise settings. admin only.",
        extensions=[RequireRoles(SETTINGS_ROLES)],
    )
    async def save_psa_connection(
        self,
        info: Info,
        input: Annotated[PsaConnectionInput, strawberry.argument(description="What to write.")],
    ) -> PsaSettings:
        _plain_text(input)
        context = info.context
        account_id = context.require_principal().account_id
        missing = [
            name
            for name, value in (
                ("site", input.site),
                ("companyId", input.company_id),
                ("publicKey", input.public_key),
                ("clientId", input.client_id),
            )
            if not value.strip()
        ]
        if missing:
            raise BadUserInput(f"required: {', '.join(missing)}", fields=missing)
        if input.private_key is not None and not input.private_key.strip():
            raise BadUserInput("privateKey must not be empty", fields=["privateKey"])
        try:
            site = allowed_site(input.site, context.settings.psa_connectwise_hosts)
        except SiteError as error:
            raise BadUserInput(str(error), fields=["site"]) from None
        try:
            codebase = allowed_codebase(input.codebase)
        except SiteError as error:
            raise BadUserInput(str(error), fields=["codebase"]) from None
        try:
            if not context.settings.psa_secret_key:
                raise PsaConfigurationError("PSA_SECRET_KEY is not set on the server")
            key = validate_secret_key(context.settings.psa_secret_key)
        except PsaConfigurationError as error:
            raise PsaFailure(error.message, **error.extensions) from None
        settings = ConnectionSettings(
            site=site,
            codebase=codebase,
            company_id=input.company_id,
            public_key=input.public_key,
            client_id=input.client_id,
            private_key=input.private_key,
            default_member_id=input.default_member_id,
        )
        try:
            async with account_transaction(context.sessionmaker, account_id) as session:
                stored = await save_connection(session, account_id, settings, key)
        except PrivateKeyRequiredError as error:
            raise BadUserInput(str(error), fields=["privateKey"]) from None
        except IntegrityError:
            # The token's account has no row (deleted, or never created).
            raise NotFound("account not found") from None
        return PsaSettings.of(stored)
