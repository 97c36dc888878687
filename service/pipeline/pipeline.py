"""The one request pipeline behind `POST /graphql` and `GET /export/<tab>.csv`.

Each request passes the same steps once, over one `RequestState`: read (the endpoint's
own: a JSON body, or a tab and its parameters) -> authenticate -> admit (one deadline,
one of the account's slots, the account's budget, all before any parse) -> resolve the
document (persisted or sent) -> look the answer up (stored bytes or a 304 end the
request here, before strawberry's machinery) -> execute (the text parsed once, under the
token limit) -> encode (the endpoint's: JSON or CSV) -> store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from core.settings import Settings
from queries import TAB_DOCUMENTS, tab_query
from schema.limits.budget import BudgetRegistry
from schema.limits.errors import RateLimited
from service.observability.requests import note_account, note_operation
from service.pipeline.account_slots import AccountSlots, SlotsBusy
from service.pipeline.authentication import VerifiedTokens, authenticate
from service.pipeline.operation_labels import first_party_operations
from service.pipeline.persisted_queries import PersistedQueries
from service.pipeline.pq_manifests import load_manifests
from service.pipeline.request_state import RequestState
from service.pipeline.request_timeout import timed_out
from service.pipeline.served_context import ServedContext
from service.response_cache.cache import ResponseCache, Ticket
from service.response_cache.entry import Entry
from service.response_cache.metrics import count
from service.runtime.database import Database

T = TypeVar("T")
logger = logging.getLogger(__name__)
# A POST may carry a query or a mutation (a subscription is refused by the schema).
POST_OPERATIONS = OperationType.from_http("POST")


class Pipeline:
    """The steps, and what they share across requests: tokens verified lately, the
    account slots and budget, persisted queries, the response cache."""

    def __init__(
        self,
        schema: strawberry.Schema,
        settings: Settings,
        budget: BudgetRegistry | None = None,
        account_slots: AccountSlots | None = None,
    ) -> None:
        self.schema = schema
        self.settings = settings
        self.budget = budget  # the schema's, so a spent account is refused before parsing
        # Per process, or shared through Redis (service/shared_limits) as the app chose.
        self.account_slots = account_slots or AccountSlots(settings.account_max_concurrent_requests)
        self.verified_tokens = VerifiedTokens(settings)
        self.persisted_queries = PersistedQueries(
            safelist=settings.persisted_queries_safelist,
            capacity=settings.persisted_queries_cache_size,
            capacity_bytes=settings.persisted_queries_cache_bytes,
            known=load_manifests(settings.persisted_queries_manifests)
            if settings.persisted_queries_manifests
            else None,
        )
        self.known_operations = first_party_operations()
        self.response_cache = ResponseCache.from_settings(settings, budget)
        for tab in TAB_DOCUMENTS:  # every worker shares the tabs' entries from the start
            document = tab_query(tab)
            facts = self.response_cache.facts(document)
            for operation in (None, *(facts.queries if facts else ())):
                self.response_cache.trust("graphql", document, operation)
                self.response_cache.trust("csv", document, operation)

    async def authenticate(self, state: RequestState, database: Database) -> None:
        """The caller, from the bearer token (verified once), and the request's context."""
        principal, error = await authenticate(
            state.request.headers.get("authorization"), self.settings, self.verified_tokens
        )
        if principal is not None:
            note_account(principal.account_id)
        state.principal, state.auth_error = principal, error
        state.account_id = None if principal is None else str(principal.account_id)
        state.context = ServedContext(
            settings=self.settings,
            sessionmaker=database.primary,
            read_sessionmaker=database.read,
            principal=principal,
            auth_error=error,
            request=state.request,
        )

    async def admitted(
        self, state: RequestState, work: Callable[[], Awaitable[T]]
    ) -> T | ExecutionResult:
        """`work` within the request's one deadline, in one of the account's slots
        (waited for half the timeout at most), once the account's budget allows it; else
        the refusal (RATE_LIMITED, TIMEOUT) as a result. Nothing has been parsed yet."""
        timeout_s = self.settings.request_timeout_s
        if timeout_s <= 0:
            return await self._in_slot(state, work)
        state.deadline = asyncio.get_running_loop().time() + timeout_s
        scope = asyncio.timeout_at(state.deadline)
        try:
            async with scope:
                return await self._in_slot(state, work)
        except TimeoutError:
            if not scope.expired():
                raise
            return timed_out(timeout_s)

    async def _in_slot(
        self, state: RequestState, work: Callable[[], Awaitable[T]]
    ) -> T | ExecutionResult:
        account = state.account
        try:
            async with self.account_slots.hold(account, self._slot_wait_s()):
                refusal = await self._budget_refusal(account)
                if refusal is not None:
                    return ExecutionResult(data=None, errors=[refusal])
                return await work()
        except SlotsBusy:
            busy = "too many requests of this account at once; retry in 1 s"
            return ExecutionResult(data=None, errors=[RateLimited(1.0, busy)])

    def _slot_wait_s(self) -> float | None:
        """How long a request waits for one of its account's slots: half its timeout."""
        timeout_s = self.settings.request_timeout_s
        return timeout_s / 2 if timeout_s > 0 else None

    async def _budget_refusal(self, account: str) -> GraphQLError | None:
        """RATE_LIMITED while the account's budget is spent, answered after a pause parked
        in the account's slot: an account that keeps sending slows only itself down."""
        if self.budget is None:
            return None
        retry_after = await self.budget.aexhausted(account)
        if retry_after is None:
            return None
        await asyncio.sleep(min(retry_after, self.settings.rate_limited_pause_s))
        return RateLimited(retry_after)

    def resolve(self, state: RequestState) -> GraphQLError | None:
        """The document to run: a persisted query's text, or the one sent (APQ, safelist);
        the refusal when there is none to run."""
        try:
            state.query = self.persisted_queries.resolve(
                state.query, state.extensions, state.account
            )
        except GraphQLError as error:
            return error
        name = state.operation_name
        note_operation(name, self.known_operations.label(name, state.query))
        return None

    async def look_up(self, state: RequestState) -> Ticket:
        """The cache's decision: a hit (its bytes, or a 304), its budget refusal, or a
        miss to execute and store. Its parse of a new text is the one execution uses."""
        assert state.context is not None
        try:
            ticket = await self.response_cache.lookup(
                state.context,
                kind=state.kind,
                query=state.query,
                operation=state.operation_name,
                variables=state.variables,
                if_none_match=state.request.headers.get("if-none-match"),
            )
        except Exception:  # never a 500 from the cache: the request runs uncached
            logger.exception("response cache: the lookup failed")
            count("bypass", "lookup_failed")
            ticket = Ticket()
        state.ticket = ticket
        state.context.ticket = ticket
        state.context.document = ticket.document
        return ticket

    async def execute(self, state: RequestState) -> ExecutionResult:
        """Strawberry's validation and execution of the resolved document (limits, cost,
        role guard); raises strawberry's errors of a request with nothing to run."""
        return await self.schema.execute(
            state.query,
            variable_values=state.variables,
            context_value=state.context,
            operation_name=state.operation_name,
            allowed_operation_types=POST_OPERATIONS,
            operation_extensions=state.extensions,
        )

    async def store(self, state: RequestState, body: bytes) -> Entry | None:
        """Keep a miss's whole answer (its ETag goes on the response); None: not kept."""
        if state.ticket.key is None or state.ticket.hit:
            return None
        return await self.response_cache.store(state.ticket, body)

    async def close(self) -> None:
        await self.response_cache.close()
        self.verified_tokens.close()
