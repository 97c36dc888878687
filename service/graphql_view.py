"""The GraphQL HTTP endpoint: authenticates the request and builds its context."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from resolvers.context import RequestContext
from service.auth import AuthenticationError, Principal, bearer_token, verify_token
from service.database import Database
from service.error_masking import mask_errors
from service.graphiql import graphiql_html
from service.http_limits import json_refusal
from service.observability import note_account, note_errors, note_operation
from service.persisted_queries import PersistedQueries
from service.request_id import current_request_id
from service.request_timeout import within_request_timeout
from service.response_cache.graphql_hook import GraphQLCacheHook
from service.settings import Settings


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


class AnalyticsGraphQL(GraphQL[RequestContext, None]):
    """Strawberry's ASGI view with our per-request context (fresh loaders each time)."""

    def __init__(self, schema: Any, settings: Settings, **options: Any) -> None:
        super().__init__(schema, **options)
        self.settings = settings
        self.persisted_queries = PersistedQueries(
            safelist=settings.persisted_queries_safelist,
            capacity=settings.persisted_queries_cache_size,
        )
        self.response_cache = GraphQLCacheHook(settings, schema)  # response cache hook

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
        try:
            return await super().run(request, context, root_value)
        except HTTPException as error:
            return json_refusal(error.status_code, error.reason)

    def decode_json(self, data: str | bytes) -> object:
        try:
            decoded = super().decode_json(data)
        except UnicodeDecodeError:
            raise HTTPException(400, "request body is not valid UTF-8") from None
        if not isinstance(decoded, dict | list):
            raise HTTPException(400, "request body must be a JSON object")
        return decoded

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql_html(self.settings))

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: RequestContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Resolve persisted queries (APQ, safelist) before strawberry executes the text."""
        try:
            query = self.persisted_queries.resolve(request_data.query, request_data.extensions)
        except GraphQLError as error:
            note_operation(request_data.operation_name)
            return ExecutionResult(data=None, errors=[error])
        request_data = dataclasses.replace(request_data, query=query)
        note_operation(request_data.operation_name or _operation_name(query))
        try:
            return await within_request_timeout(
                self._execute_or_cached(
                    request, request_adapter, sub_response, context, root_value, request_data
                ),
                self.settings.request_timeout_s,
            )
        finally:
            await context.close()

    async def _execute_or_cached(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: RequestContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
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
            codes.append(str(extensions.get("code") or "GRAPHQL_VALIDATION_FAILED"))
        note_errors(codes)
        return response


def _operation_name(query: str | None) -> str | None:
    """The document's operation name when the request did not say (single-operation documents)."""
    return _named_operation(query) if query else None


@functools.lru_cache(maxsize=256)
def _named_operation(query: str) -> str | None:
    """Parsed once per distinct text: it labels metrics, it must not cost a parse a request."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) == 1 and operations[0].name is not None:
        return operations[0].name.value
    return None
