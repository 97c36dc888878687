"""Hit, miss or bypass for one request, and storing the answer of a miss.

A hit skips parse, validation and execution, but the caller was verified already (the
token; the role is part of the key, and only answers that passed the role guard are
ever stored) and the account's budget is charged a small cost.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from graphql import DocumentNode, GraphQLError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from resolvers.context import RequestContext
from schema.limits.budget import BudgetRegistry
from schema.limits.errors import RateLimited
from service.observability.requests import note_statement
from service.response_cache import conditional
from service.response_cache.entry import Entry, TierUnavailable
from service.response_cache.key import DataState, DocumentFacts, DocumentFactsMemo, cache_key
from service.response_cache.memory import MemoryTier
from service.response_cache.metrics import count
from service.response_cache.seal import EntrySeal, ForgedEntry, derived_key
from service.response_cache.version import (
    LOOKUP_CONNECTIONS,
    ReaderDown,
    StateReader,
    read_state,
)

logger = logging.getLogger(__name__)
# How far ahead of this host's clock an entry's `stored_at` may be (hosts' clocks differ a
# little); an entry further ahead would outlive the maximum age, so it is not served.
CLOCK_SKEW_S = 1.0


class Tier(Protocol):
    name: str

    async def get(self, key: str) -> Entry | None: ...

    async def set(self, key: str, entry: Entry, ttl_s: float) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Identity:
    """Everything of the key but the data state."""

    kind: str
    account_id: uuid.UUID
    access: str
    document: str
    operation: str | None
    variables: dict[str, Any] | None

    @property
    def shape(self) -> tuple[str, str, str]:
        return (self.kind, self.document, self.operation or "")

    @property
    def account_shape(self) -> tuple[str, str, str, str]:
        """The shape as one account sent it: what "answered before" is kept by."""
        return (str(self.account_id), *self.shape)

    def key(self, state: DataState) -> str:
        return cache_key(
            kind=self.kind,
            account_id=str(self.account_id),
            access=self.access,
            document=self.document,
            operation=self.operation,
            variables=self.variables,
            state=state,
        )


@dataclass
class Ticket:
    """The decision for one request; `key` set: store the answer under it (a miss)."""

    identity: Identity | None = None
    key: str | None = None
    entry: Entry | None = None  # a fresh entry (a hit), or the entry a miss stored
    not_modified: bool = False
    refusal: GraphQLError | None = None  # the hit's budget charge was refused
    hit: bool = False
    # The document the lookup parsed its text into (None: its facts were known, or no
    # parse was needed); execution runs it rather than parsing the text again.
    document: DocumentNode | None = None


class ResponseCache:
    """A lookup reads the latest committed state in one round trip and serves an entry
    of exactly that state. A miss executes in its snapshot and is tagged with the state
    that snapshot shows (read after execution, in the same snapshot). Documents never
    answered whole for this account in this process are not looked up at all: a query
    refused as too complex, invalid or forbidden still runs no SQL. "Answered" is kept per
    account (the first-party documents, trusted, aside), so no outcome an account sees
    depends on what another account sent."""

    def __init__(
        self,
        tier: Tier | None,
        *,
        max_age_s: float,
        hit_cost: float = 1.0,
        budget: BudgetRegistry | None = None,
        max_shapes: int = 10_000,
        lookup_connections: int = LOOKUP_CONNECTIONS,
        max_tokens: int = 2000,
    ) -> None:
        """`max_tokens`: the schema's token limit, which the cache's own parse keeps too."""
        self.tier = tier
        self._max_tokens = max_tokens
        self._facts = DocumentFactsMemo()
        self.max_age_s = max_age_s
        self.hit_cost = hit_cost
        self.budget = budget
        self._trusted: set[tuple[str, str, str]] = set()
        self._answered: OrderedDict[tuple[str, str, str, str], None] = OrderedDict()
        self._max_shapes = max_shapes
        # One lean reader of the current state per database the requests read.
        self._readers: dict[AsyncEngine, StateReader] = {}
        self._lookup_connections = lookup_connections
        self._closed = False  # after close, lookups bypass (no reader nobody would close)

    @classmethod
    def from_settings(cls, settings: Settings, budget: BudgetRegistry | None) -> ResponseCache:
        tier: Tier | None = None
        if settings.response_cache and settings.redis_url:
            from service.response_cache.redis_tier import RedisTier

            signing_key = settings.response_cache_signing_key
            seal = EntrySeal(
                signing_key.encode() if signing_key else derived_key(settings.jwt_secret)
            )
            tier = RedisTier(settings.redis_url, settings.response_cache_redis_timeout_s, seal)
        elif settings.response_cache:
            tier = MemoryTier(settings.response_cache_max_bytes)
        return cls(
            tier,
            max_age_s=settings.response_cache_max_age_s,
            hit_cost=settings.response_cache_hit_cost,
            budget=budget,
            # The lookup pool connects as the engine it reads for (persistence.connection).
            lookup_connections=settings.response_cache_lookup_connections,
            max_tokens=settings.max_query_tokens,
        )

    def facts(self, query: str) -> DocumentFacts | None:
        """The text's normalized digest and operations, parsed under the token limit."""
        return self._facts.facts(query, self._max_tokens)

    def trust(self, kind: str, query: str, operation: str | None) -> None:
        """Look `query` up from its first request on (first-party documents: every
        worker shares entries of the tabs at once, without a first execution each)."""
        facts = self.facts(query)
        if facts is not None:
            self._trusted.add((kind, facts.digest, operation or ""))

    async def lookup(
        self,
        context: RequestContext,
        *,
        kind: str,
        query: str | None,
        operation: str | None,
        variables: dict[str, Any] | None,
        if_none_match: str | None = None,
    ) -> Ticket:
        if self.tier is None:
            return Ticket()
        if self._closed:
            count("bypass", "closed")
            return Ticket()
        principal = context.principal
        if principal is None:
            count("bypass", "anonymous")
            return Ticket()
        facts, document = (
            self._facts.facts_and_document(query, self._max_tokens) if query else (None, None)
        )
        if facts is None or not facts.is_query(operation):
            count("bypass", "not_a_query")
            return Ticket(document=document)
        identity = Identity(
            kind, principal.account_id, principal.role, facts.digest, operation, variables
        )
        if identity.shape not in self._trusted and not self._answered_before(identity):
            count("miss", "first_sight")
            return Ticket(identity=identity, document=document)
        state = await self._current_state(context)
        if state is None:
            return Ticket()
        key = identity.key(state)
        try:
            entry = await self.tier.get(key)
        except TierUnavailable:
            count("bypass", "tier_unavailable")
            return Ticket()
        except ForgedEntry as error:
            logger.warning("response cache: refused a stored value (%s)", error)
            count("miss", "forged_entry")  # executed, and its answer replaces the value
            return Ticket(identity=identity)
        age = None if entry is None else time.time() - entry.stored_at
        if age is not None and age < -CLOCK_SKEW_S:
            logger.warning("response cache: refused an entry stored %.1f s in the future", -age)
            count("miss", "future_entry")
            return Ticket(identity=identity)
        if entry is None or age is None or age >= self.max_age_s:
            count("miss")
            # The key comes from the snapshot after execution: it may see a newer state.
            return Ticket(identity=identity, document=document)
        ticket = Ticket(entry=entry)
        retry_after = await self._charge(str(principal.account_id))
        if retry_after is not None:
            ticket.refusal = RateLimited(retry_after)
            count("bypass", "rate_limited")
            return ticket
        ticket.hit = True
        ticket.not_modified = conditional.matches(if_none_match, entry.etag)
        count("not_modified" if ticket.not_modified else "hit")
        return ticket

    def _answered_before(self, identity: Identity) -> bool:
        if identity.account_shape not in self._answered:
            return False
        self._answered.move_to_end(identity.account_shape)
        return True

    async def _charge(self, account: str) -> float | None:
        if self.budget is None or self.hit_cost <= 0:
            return None
        return await self.budget.acharge(account, min(self.hit_cost, self.budget.capacity))

    async def store(self, ticket: Ticket, body: bytes) -> Entry:
        """Keep the answer of a miss; returns the entry (its ETag goes on the response)."""
        entry = Entry.of(body, time.time())
        ticket.entry = entry
        if self.tier is None or ticket.key is None or ticket.identity is None or self._closed:
            return entry
        self._answered[ticket.identity.account_shape] = None
        self._answered.move_to_end(ticket.identity.account_shape)
        while len(self._answered) > self._max_shapes:
            self._answered.popitem(last=False)
        try:
            await self.tier.set(ticket.key, entry, self.max_age_s)
        except TierUnavailable:
            count("store_skipped", "tier_unavailable")
        return entry

    async def close(self) -> None:
        self._closed = True
        readers, self._readers = list(self._readers.values()), {}
        for reader in readers:
            await reader.close()
        if self.tier is not None:
            await self.tier.close()

    async def _current_state(self, context: RequestContext) -> DataState | None:
        """The latest committed state, for a lookup; None (and counted) when unreadable."""
        assert context.principal is not None
        engine = context.read_sessionmaker.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            return None
        reader = self._readers.get(engine)
        if reader is None:
            if self._closed:  # a lookup begun before close: no pool nobody would close
                count("bypass", "closed")
                return None
            reader = self._readers[engine] = StateReader(engine, self._lookup_connections)
        try:
            state = await reader.current(context.principal.account_id, context.now)
        except ReaderDown:
            count("bypass", "version_backoff")  # failed lately: not tried again yet
            return None
        except Exception as error:
            # Execution meets the same failure and reports it with its own code.
            logger.info("response cache: data version unreadable (%s)", type(error).__name__)
            count("bypass", "version_unreadable")
            return None
        note_statement()  # the request log's statement count, as the engine's listener does
        if state is None:
            count("bypass", "no_account")
        return state


async def snapshot_state(context: RequestContext) -> DataState | None:
    """The data state the request's snapshot shows; None (and counted) when unreadable."""
    assert context.principal is not None
    try:
        state = await read_state(context.loaders.snapshot, context.now)
    except Exception as error:
        # Execution meets the same failure and reports it with its own code.
        logger.info("response cache: data version unreadable (%s)", type(error).__name__)
        count("bypass", "version_unreadable")
        return None
    if state is None:
        count("bypass", "no_account")
    return state


async def tag(context: RequestContext, ticket: Ticket) -> None:
    """A miss's key, from the same snapshot its answer was read from."""
    if ticket.identity is None or ticket.key is not None:
        return
    state = await snapshot_state(context)
    if state is not None:
        ticket.key = ticket.identity.key(state)
