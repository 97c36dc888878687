"""`/graphql`: a POST runs the request pipeline; a GET is strawberry's view (GraphiQL, and
its refusals: no operation runs over GET)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult

from core.errors import Unauthenticated
from service.http.limits import json_refusal
from service.observability.requests import note_operation
from service.pipeline.answer_body import answer_body
from service.pipeline.content_negotiation import (
    Negotiated,
    check_request_body,
    finish,
    negotiate,
    shape_result,
)
from service.pipeline.encoding import encode_response, encoded_bytes
from service.pipeline.graphql_view import AnalyticsGraphQL
from service.pipeline.pipeline import Pipeline
from service.pipeline.request_state import RequestState
from service.response_cache.conditional import stored_response
from service.response_cache.entry import Entry


class Refused(Exception):
    """An HTTP refusal of the request as a whole (a 400 with a reason)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class GraphQLEndpoint:
    """The `/graphql` route."""

    def __init__(self, pipeline: Pipeline, view: AnalyticsGraphQL) -> None:
        self.pipeline = pipeline
        self.view = view
        # What operators and tests reach through the route.
        self.account_slots = pipeline.account_slots
        self.response_cache = pipeline.response_cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.view(scope, receive, send)
            return
        request = Request(scope, receive)
        response = await self.answer(request)
        await response(scope, receive, send)

    async def answer(self, request: Request) -> Response:
        negotiated = negotiate(request.headers.get("accept"))
        if isinstance(negotiated, Response):
            return negotiated
        authorization = request.headers.get("authorization")
        try:
            response = await self._answer(request, negotiated)
        except Refused as refusal:
            response = json_refusal(refusal.status, refusal.reason)
        return finish(negotiated, authorization, response)

    async def _answer(self, request: Request, negotiated: Negotiated) -> Response:
        data = await _read(request)
        state = RequestState(
            request,
            kind="graphql",
            query=data.get("query"),
            operation_name=data.get("operationName"),
            variables=data.get("variables"),
            extensions=data.get("extensions"),
        )
        await self.pipeline.authenticate(state, request.app.state.database)
        name = state.operation_name
        note_operation(name, self.pipeline.known_operations.label(name, None))
        if state.principal is None:
            # Every root field needs a caller: an anonymous text would only cost CPU.
            refusal = Unauthenticated(state.auth_error or "authentication required")
            return await self._encoded(state, negotiated, ExecutionResult(None, [refusal]))
        assert state.context is not None
        try:
            outcome = await self.pipeline.admitted(state, lambda: self._run(state))
        finally:
            await state.context.close()
        if isinstance(outcome, Entry):  # a hit: its bytes are sent after the slot is freed
            unchanged = state.ticket.not_modified
            return stored_response(outcome.body, outcome.etag, unchanged, "application/json")
        return await self._encoded(state, negotiated, outcome)

    async def _run(self, state: RequestState) -> Entry | ExecutionResult:
        """Resolve, look up (a hit ends here, with its stored entry), execute."""
        refusal = self.pipeline.resolve(state)
        if refusal is not None:
            return ExecutionResult(data=None, errors=[refusal])
        ticket = await self.pipeline.look_up(state)
        if ticket.refusal is not None:
            return ExecutionResult(data=None, errors=[ticket.refusal])
        if ticket.hit and ticket.entry is not None:
            return ticket.entry
        try:
            return await self.pipeline.execute(state)
        except MissingQueryError:
            raise Refused("No GraphQL query found in the request") from None
        except CannotGetOperationTypeError as error:
            raise Refused(error.as_http_error_reason()) from None
        except InvalidOperationTypeError as error:
            raise Refused(error.as_http_error_reason("POST")) from None

    async def _encoded(
        self, state: RequestState, negotiated: Negotiated, result: ExecutionResult
    ) -> Response:
        """The result as JSON: masked errors with a code and the request id, the status
        GraphQL over HTTP asks for; a miss's whole answer stored, with its ETag."""
        body = answer_body(result)
        stored = (
            None
            if body.get("errors") or body.get("data") is None
            else await self.pipeline.store(state, encoded_bytes(body))
        )
        shape_result(negotiated, result, body)
        if stored is not None:
            return stored_response(stored.body, stored.etag, False, "application/json")
        return Response(encode_response(body), 200, media_type="application/json")


async def _read(request: Request) -> dict[str, Any]:
    """The request's JSON object; Refused when it is not one GraphQL request."""
    content_type, _ = parse_content_type(request.headers.get("content-type") or "")
    if "application/json" not in content_type:
        raise Refused("Unsupported content type")
    try:
        decoded = json.loads(await request.body())
    except UnicodeDecodeError:
        raise Refused("request body is not valid UTF-8") from None
    except json.JSONDecodeError:
        raise Refused("Unable to parse request body as JSON") from None
    if not isinstance(decoded, dict | list):
        raise Refused("request body must be a JSON object")
    malformed = check_request_body(decoded)
    if malformed is not None:
        raise Refused(malformed)
    if isinstance(decoded, list):
        raise Refused("Batching is not enabled")
    return decoded
