"""Domain aliases: a spelling read as another domain in every tab, and the suggestions.

The queries and mutations are mixed into the root types (schema.query, schema.mutation).
Changing aliases is a team lead's decision: team_admin or admin, like the tabs they change.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import strawberry

from core.auth import ANALYTICS_ROLES
from core.errors import (
    AliasChain,
    AliasLimit,
    AliasOfItself,
    ApiError,
    BadUserInput,
    Conflict,
    NotFound,
    UnknownDomain,
)
from core.metrics.alias_matching import AliasReason as CoreAliasReason
from core.metrics.alias_matching import AliasSuggestion
from core.metrics.keys import domain_key
from persistence import domain_aliases as aliases
from persistence.domain_aliases import AliasRefused, AliasRow
from persistence.reader import Reader
from resolvers.context import Info
from resolvers.domain_aliases import change_aliases, read_aliases, read_suggestions
from schema.access import RequireRoles
from schema.enums import Period
from schema.ranges import DateRangeInput, resolve_window

ALIAS_ROLES = ANALYTICS_ROLES
T = TypeVar("T")

AliasReason = strawberry.enum(
    CoreAliasReason,
    name="AliasReason",
    description="Why a spelling looks like another domain's.",
)
for _value in AliasReason.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = {
        "ACRONYM": "The spelling is the initials of the target's words, numbers kept whole "
        "(M365 for Microsoft 365).",
        "SIMILAR_SPELLING": "The two keys are at least 85% alike (difflib's ratio).",
        "SHARED_FLOWS": "At least 3 of the spelling's sessions in the window, and at least a "
        "fifth of them, were matched to flows of the target's category.",
    }[_value.name]


@strawberry.type(description="A spelling read as another domain in every tab, comparison and list.")
class DomainAlias:
    spelling: str = strawberry.field(description="The spelling as it was given (trimmed).")
    key: str = strawberry.field(
        description="Its domain key: every session and flow with this key counts under the target."
    )
    target_key: str = strawberry.field(
        description="The key of the domain it is read as (never itself an alias)."
    )
    target_name: str = strawberry.field(
        description="The target's name: its flows' category spelling, else its most frequent "
        "session spelling of all time."
    )
    created_at: datetime.datetime = strawberry.field(description="When it was added.")
    created_by: strawberry.ID | None = strawberry.field(
        description="The user who added it (the token's subject), when known."
    )

    @classmethod
    def of(cls, row: AliasRow) -> DomainAlias:
        return cls(
            spelling=row.spelling,
            key=row.key,
            target_key=row.target_key,
            target_name=row.target_name,
            created_at=row.created_at,
            created_by=None if row.created_by is None else strawberry.ID(str(row.created_by)),
        )


@strawberry.type(
    description="A likely alias the API has not been told: accept it with addDomainAlias "
    "(spelling, targetName), or dismissDomainAliasSuggestion. Never applied by itself."
)
class DomainAliasSuggestion:
    spelling: str = strawberry.field(
        description="The domain suggested to merge: its name in the window (as a Domain's)."
    )
    key: str = strawberry.field(description="Its domain key.")
    target_name: str = strawberry.field(description="The domain to merge it into: its name.")
    target_key: str = strawberry.field(description="The target's domain key.")
    reasons: list[AliasReason] = strawberry.field(  # type: ignore[valid-type]
        description="Why, in the order ACRONYM, SIMILAR_SPELLING, SHARED_FLOWS."
    )
    session_count: int = strawberry.field(
        description="The spelling's sessions in the window: what merging moves."
    )
    flow_count: int = strawberry.field(description="The spelling's non-archived flows.")
    matched_session_count: int = strawberry.field(
        description="Of its sessions in the window, those matched to flows of the target "
        "(the SHARED_FLOWS evidence; 0 when none)."
    )
    similarity: float = strawberry.field(description="difflib's ratio of the two keys, 0 to 1.")

    @classmethod
    def of(cls, found: AliasSuggestion) -> DomainAliasSuggestion:
        return cls(
            spelling=found.source.name,
            key=found.source.key,
            target_name=found.target.name,
            target_key=found.target.key,
            reasons=[AliasReason(reason.value) for reason in found.reasons],
            session_count=found.source.session_count,
            flow_count=found.source.flow_count,
            matched_session_count=found.matched_session_count,
            similarity=found.similarity,
        )


@strawberry.type(description="What an alias change did, and the account's aliases after it.")
class DomainAliasResult:
    changed: bool = strawberry.field(
        description="False when nothing changed: the alias or dismissal existed already."
    )
    alias: DomainAlias | None = strawberry.field(
        description="The spelling's alias after the change (null after a removal or dismissal)."
    )
    aliases: list[DomainAlias] = strawberry.field(
        description="Every alias of the account after the change, by key."
    )


_REFUSALS: dict[str, type[ApiError]] = {
    "INVALID": BadUserInput,
    "SELF": AliasOfItself,
    "CHAIN": AliasChain,
    "LIMIT": AliasLimit,
    "UNKNOWN_SPELLING": UnknownDomain,
    "UNKNOWN_TARGET": UnknownDomain,
    "EXISTS": Conflict,
    "NOT_FOUND": NotFound,
}


async def _change(
    info: Info, spelling: str, change: Callable[[Reader, uuid.UUID, uuid.UUID | None], Awaitable[T]]
) -> DomainAliasResult:
    principal = info.context.require_principal()
    account_id = principal.account_id
    try:
        outcome, rows = await change_aliases(
            info.context.sessionmaker,
            account_id,
            lambda reader: change(reader, account_id, principal.user_id),
        )
    except AliasRefused as refused:
        raise _REFUSALS[refused.reason](str(refused), argument=refused.argument) from None
    key = domain_key(spelling)
    alias = next((row for row in rows if row.key == key), None)
    return DomainAliasResult(
        changed=bool(outcome),
        alias=None if alias is None else DomainAlias.of(alias),
        aliases=[DomainAlias.of(row) for row in rows],
    )


SpellingArgument = Annotated[
    str,
    strawberry.argument(
        description="A domain of the account as spelled (any spelling with its key): a flow "
        "category or a session problem domain."
    ),
]
TargetArgument = Annotated[
    str,
    strawberry.argument(
        description="The domain to read it as (any spelling with its key), of the account "
        "and no alias itself."
    ),
]


@strawberry.type
class DomainAliasQueries:
    @strawberry.field(
        description="The account's domain aliases, by key. team_admin or admin.",
        extensions=[RequireRoles(ALIAS_ROLES)],
    )
    async def domain_aliases(self, info: Info) -> list[DomainAlias]:
        return [DomainAlias.of(row) for row in await read_aliases(info.context.loaders.snapshot)]

    @strawberry.field(
        description="Likely aliases in the window, not yet aliased nor dismissed: the spelling's "
        "sessions desc, then key, then target key. team_admin or admin.",
        extensions=[RequireRoles(ALIAS_ROLES)],
    )
    async def domain_alias_suggestions(
        self,
        info: Info,
        period: Annotated[
            Period,
            strawberry.argument(
                description="The last 7, 30 or 90 local days of the account (LAST_30_DAYS by "
                "default)."
            ),
        ] = Period.LAST_30_DAYS,
        date_range: Annotated[
            DateRangeInput | None,
            strawberry.argument(
                name="range",
                description="Custom local days instead of `period` (do not give both). "
                "BAD_USER_INPUT when invalid.",
            ),
        ] = None,
    ) -> list[DomainAliasSuggestion]:
        window = await resolve_window(info, period, date_range)
        found = await read_suggestions(info.context.loaders.snapshot, window)
        return [DomainAliasSuggestion.of(suggestion) for suggestion in found]


@strawberry.type
class DomainAliasMutations:
    @strawberry.mutation(
        description="Read a spelling as another domain in every tab, at once: ALIAS_OF_ITSELF, "
        "ALIAS_CHAIN, ALIAS_LIMIT, UNKNOWN_DOMAIN or CONFLICT (an alias of another domain "
        "already) when refused, nothing written. team_admin or admin.",
        extensions=[RequireRoles(ALIAS_ROLES)],
    )
    async def add_domain_alias(
        self, info: Info, spelling: SpellingArgument, target: TargetArgument
    ) -> DomainAliasResult:
        return await _change(
            info,
            spelling,
            lambda reader, account, user: aliases.add_alias(
                reader, account, user, spelling, target
            ),
        )

    @strawberry.mutation(
        description="Stop reading a spelling as another domain (NOT_FOUND when it is no "
        "alias). team_admin or admin.",
        extensions=[RequireRoles(ALIAS_ROLES)],
    )
    async def remove_domain_alias(
        self, info: Info, spelling: SpellingArgument
    ) -> DomainAliasResult:
        return await _change(
            info,
            spelling,
            lambda reader, account, user: aliases.remove_alias(reader, account, user, spelling),
        )

    @strawberry.mutation(
        description="Never suggest this pair again (refused as addDomainAlias refuses an "
        "unknown or identical pair). team_admin or admin.",
        extensions=[RequireRoles(ALIAS_ROLES)],
    )
    async def dismiss_domain_alias_suggestion(
        self, info: Info, spelling: SpellingArgument, target: TargetArgument
    ) -> DomainAliasResult:
        return await _change(
            info,
            spelling,
            lambda reader, account, user: aliases.dismiss_suggestion(
                reader, account, user, spelling, target
            ),
        )
