"""Strawberry's view, for what `/graphql` serves over GET: the GraphiQL page, and the
refusals of anything else (no operation runs over GET; POST is the pipeline's)."""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from core.errors import Unauthenticated
from core.settings import Settings
from resolvers.context import RequestContext
from service.graphiql.page import CONTENT_SECURITY_POLICY, graphiql_html
from service.http.limits import json_refusal
from service.pipeline.answer_body import answer_body
from service.pipeline.authentication import VerifiedTokens, authenticate
from service.pipeline.encoding import encode_response
from service.runtime.database import Database


class AnalyticsGraphQL(GraphQL[RequestContext, None]):
    """GraphiQL, and GET's refusals as JSON errors with a code."""

    def __init__(
        self, schema: Any, settings: Settings, verified_tokens: VerifiedTokens, **options: Any
    ) -> None:
        super().__init__(schema, **options)
        self.settings = settings
        self.verified_tokens = verified_tokens

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        database: Database = request.app.state.database
        principal, auth_error = await authenticate(
            request.headers.get("authorization"), self.settings, self.verified_tokens
        )
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
        try:
            return await super().run(request, context, root_value)
        except HTTPException as error:
            return json_refusal(error.status_code, error.reason)

    def encode_json(self, data: object) -> str | bytes:
        return encode_response(data)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(
            graphiql_html(self.settings),
            headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
        )

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """An anonymous caller is refused before anything is parsed; for anyone else,
        strawberry refuses every operation type over GET."""
        context: RequestContext = kwargs["context"]
        if context.principal is None:
            refusal = Unauthenticated(context.auth_error or "authentication required")
            return ExecutionResult(data=None, errors=[refusal])
        try:
            return await super().execute_single(*args, **kwargs)
        finally:
            await context.close()

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        return answer_body(result)
