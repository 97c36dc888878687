"""The GraphQL HTTP endpoint: authenticates the request and builds its context."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from core.auth import AuthenticationError, Principal, bearer_token, verify_token
from core.error_codes import ErrorCode
from core.errors import Unauthenticated
from core.settings import Settings
from resolvers.context import RequestContext
from schema.limits.budget import BudgetRegistry
from schema.limits.errors import RateLimited
from service.account_slots import AccountSlots, SlotsBusy
from service.content_negotiation import check_request_body, finish, negotiate, shape_result
from service.database import Database
from service.error_masking import mask_errors
from service.graphiql import CONTENT_SECURITY_POLICY, graphiql_html
from service.http_limits import json_refusal
from service.observability import note_account, note_errors, note_operation
from service.operation_labels import first_party_operations
from service.persisted_queries import PersistedQueries
from service.pq_manifests import load_manifests
from service.request_id import current_request_id
from service.request_timeout import within_request_timeout
from service.response_cache.graphql_hook import GraphQLCacheHook

logger = logging.getLogger("flowpilot.auth")


def authenticate(
    authorization: str | None, settings: Settings
) -> tuple[Principal | None, str | None]:
    """The verified caller, or None with the reason a client may see."""
    token = bearer_token(authorization)
    if token is None:
        return None, "authentication required: send Authorization: Bearer <token>"
    try:
        return verify_token(token, settings), None
    except AuthenticationError as error:
        return None, str(error)
    except Exception:  # a token must never turn into a 500, whatever it holds
        logger.exception("token verification failed unexpectedly")
        return None, "invalid token"


class AnalyticsGraphQL(GraphQL[RequestContext, None]):
    """Strawberry's ASGI view with our per-request context (fresh loaders each time)."""

    def __init__(
        self,
        schema: Any,
        settings: Settings,
        budget: BudgetRegistry | None = None,
        **options: Any,
    ) -> None:
        super().__init__(schema, **options)
        self.settings = settings
        self.budget = budget  # the schema's, so a spent account is refused before parsing
        self.persisted_queries = PersistedQueries(
            safelist=settings.persisted_queries_safelist,
            capacity=settings.persisted_queries_cache_size,
            capacity_bytes=settings.persisted_queries_cache_bytes,
            known=load_manifests(settings.persisted_queries_manifests)
            if settings.persisted_queries_manifests
            else None,
        )
        self.known_operations = first_party_operations()
        self.account_slots = AccountSlots(settings.account_max_concurrent_requests)
        self.response_cache = GraphQLCacheHook(settings, schema, budget=self.budget)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        database: Database = request.app.state.database
        principal, auth_error = authenticate(request.headers.get("authorization"), self.settings)
        if principal is not None:
            note_account(principal.account_id)
        return RequestContext(
            settings=self.settings,
            sessionmaker=database.primary,
            read_sessionmaker=database.read,
            principal=principal,
            auth_error=auth_error,
            request=request,
            response=response,
        )

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """Refusals at the HTTP level (bad body, GET, batching) as JSON errors with a code."""
        if isinstance(request, Request) and request.method == "POST":
            refusal = negotiate(request)  # GraphQL over HTTP: the response's media type
            if refusal is not None:
                return refusal
        try:
            return finish(request, await super().run(request, context, root_value))
        except HTTPException as error:
            return finish(request, json_refusal(error.status_code, error.reason))

    def decode_json(self, data: str | bytes) -> object:
        try:
            decoded = super().decode_json(data)
        except UnicodeDecodeError:
            raise HTTPException(400, "request body is not valid UTF-8") from None
        if not isinstance(decoded, dict | list):
            raise HTTPException(400, "request body must be a JSON object")
        malformed = check_request_body(decoded)
        if malformed is not None:
            raise HTTPException(400, malformed)
        return decoded

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(
            graphiql_html(self.settings),
            headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: RequestContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Refuse anonymous callers before anything is parsed or stored; the rest runs in
        one of the account's slots, within the request timeout."""
        name = request_data.operation_name
        note_operation(name, self.known_operations.label(name, None))
        principal = context.principal
        if principal is None:
            # Every root field needs a caller: an anonymous text would only cost CPU.
            refusal = Unauthenticated(context.auth_error or "authentication required")
            return ExecutionResult(data=None, errors=[refusal])
        try:
            return await within_request_timeout(
                self._execute_for(
                    str(principal.account_id),
                    request,
                    request_adapter,
                    sub_response,
                    context,
                    root_value,
                    request_data,
                ),
                self.settings.request_timeout_s,
            )
        finally:
            await context.close()

    async def _execute_for(
        self,
        account: str,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: RequestContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Wait for one of the account's slots (half the request timeout at most)."""
        timeout_s = self.settings.request_timeout_s
        wait_s = timeout_s / 2 if timeout_s > 0 else None
        try:
            async with self.account_slots.hold(account, wait_s):
                return await self._execute_in_slot(
                    account, request, request_adapter, sub_response, context, root_value,
                    request_data,
                )  # fmt: skip
        except SlotsBusy:
            busy = "too many requests of this account at once; retry in 1 s"
            return ExecutionResult(data=None, errors=[RateLimited(1.0, busy)])

    async def _execute_in_slot(
        self,
        account: str,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: RequestContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """The account's budget, then persisted queries (APQ, safelist), then strawberry's
        one parse (token-limited, cached), validation and execution."""
        if self.budget is not None:
            retry_after = self.budget.exhausted(account)
            if retry_after is not None:
                # Answered after a pause, parked in the account's slot: an account that
                # keeps sending while its budget is spent slows only itself down.
                await asyncio.sleep(min(retry_after, self.settings.rate_limited_pause_s))
                return ExecutionResult(data=None, errors=[RateLimited(retry_after)])
        try:
            query = self.persisted_queries.resolve(
                request_data.query, request_data.extensions, account
            )
        except GraphQLError as error:
            return ExecutionResult(data=None, errors=[error])
        request_data = dataclasses.replace(request_data, query=query)
        name = request_data.operation_name
        note_operation(name, self.known_operations.label(name, query))
        # --- response cache hook (service/response_cache): a hit skips execution ---
        cached = await self.response_cache.before(request, sub_response, context, request_data)
        if cached is not None:
            return cached
        # --- end response cache hook ---
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        # --- response cache hook: the stored bytes, a 304, or a fresh answer's ETag ---
        cached = self.response_cache.response(sub_response)
        if cached is not None:
            return cached
        # --- end response cache hook ---
        return super().create_response(response_data, sub_response)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """Every error carries the request id (also in the X-Request-ID header) and a code."""
        request_id = current_request_id()
        if result.errors:
            result.errors = mask_errors(result.errors, request_id)
        response = await super().process_result(request, result)
        await self.response_cache.after(request, response, self.encode_json)  # cache hook
        codes: list[str] = []
        for error in response.get("errors") or []:
            if not isinstance(error, dict):
                continue
            extensions = error.setdefault("extensions", {})
            if request_id is not None:
                extensions.setdefault("requestId", request_id)
            codes.append(str(extensions.get("code") or ErrorCode.GRAPHQL_VALIDATION_FAILED))
        note_errors(codes)
        if not self.response_cache.served(request):  # a hit's result is only a placeholder
            shape_result(request, result, response)
        return response
