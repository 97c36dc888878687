"""The GraphQL HTTP endpoint: authenticates the request and builds its context."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from resolvers.context import RequestContext
from service.auth import AuthenticationError, Principal, bearer_token, verify_token
from service.database import Database
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

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        database: Database = request.app.state.database
        principal, auth_error = authenticate(request.headers.get("authorization"), self.settings)
        return RequestContext(
            settings=self.settings,
            sessionmaker=database.primary,
            read_sessionmaker=database.read,
            principal=principal,
            auth_error=auth_error,
            request=request,
            response=response,
        )
