"""The GraphQL HTTP endpoint: authenticates the request and builds its context."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
import time
from collections import OrderedDict, deque
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from core.auth import CLOCK_SKEW, AuthenticationError, Principal, bearer_token, verify_token
from core.error_codes import ErrorCode
from core.errors import Unauthenticated
from core.jwks import JwksKeys, signed_by_provider
from core.settings import Settings
from resolvers.context import RequestContext
from schema.limits.budget import BudgetRegistry
from schema.limits.errors import RateLimited
from service.graphiql.page import CONTENT_SECURITY_POLICY, graphiql_html
from service.http.limits import json_refusal
from service.http.request_id import current_request_id
from service.observability.requests import note_account, note_errors, note_operation
from service.pipeline.account_slots import AccountSlots, SlotsBusy
from service.pipeline.content_negotiation import (
    check_request_body,
    choose_media_type,
    finish,
    negotiate,
    shape_result,
)
from service.pipeline.error_masking import mask_errors
from service.pipeline.operation_labels import first_party_operations
from service.pipeline.persisted_queries import PersistedQueries
from service.pipeline.pq_manifests import load_manifests
from service.pipeline.request_timeout import within_request_timeout
from service.response_cache.graphql_hook import GraphQLCacheHook, stored_response
from service.runtime.database import Database

logger = logging.getLogger("flowpilot.auth")
_WAITED_FOR_SLOT = "flowpilot.waited_for_slot"
# The loop time the request's timeout ends at, once the hit path has started it.
_DEADLINE = "flowpilot.request_deadline"


async def authenticate(
    authorization: str | None, settings: Settings, tokens: VerifiedTokens | None = None
) -> tuple[Principal | None, str | None]:
    """The verified caller, or None with the reason a client may see."""
    token = bearer_token(authorization)
    if token is None:
        return None, "authentication required: send Authorization: Bearer <token>"
    try:
        if tokens is not None:
            return await tokens.verify_async(token), None
        return verify_token(token, settings), None
    except AuthenticationError as error:
        return None, str(error)
    except Exception:  # a token must never turn into a 500, whatever it holds
        logger.exception("token verification failed unexpectedly")
        return None, "invalid token"


class VerifiedTokens:
    """Tokens accepted lately, so a dashboard's repeated requests check a signature once.

    Whether a token is accepted depends on the token, the settings and the clock, and on
    the clock monotonically: `iat`/`nbf` once passed stay passed, the lifetime check only
    gets easier, and `exp` (plus the leeway) ends it. So a token accepted at `t` is
    accepted at every instant from `t` until `exp` + leeway with the same principal: an
    entry serves only that window (anything else, a clock set back included, verifies
    afresh). Refusals are not kept. Keyed by the whole token text, LRU-bounded.

    An identity provider's token (RS256/ES256, with AUTH_JWKS_URL) is remembered the same
    way; a key rotated out of the JWKS does not end it early (nor would it for a token
    verified with a key cached before the rotation): revocation is the token's `exp`.
    """

    def __init__(self, settings: Settings, capacity: int = 10_000) -> None:
        self.settings = settings
        self.capacity = capacity
        self._accepted: OrderedDict[str, tuple[Principal, float, float]] = OrderedDict()
        self.jwks: JwksKeys | None = None
        if settings.jwks_url is not None:
            self.jwks = JwksKeys(
                settings.jwks_url, timeout_s=settings.jwks_timeout_s, cache_s=settings.jwks_cache_s
            )

    def verify(self, token: str) -> Principal:
        """`verify_token(token, settings)`, remembered; raises as it does (HS256 only: an
        identity provider's token needs `verify_async`, which may fetch its key)."""
        known = self._remembered(token)
        if known is not None:
            return known
        return self._remember(token, verify_token(token, self.settings))

    async def verify_async(self, token: str) -> Principal:
        """As `verify`, with the identity provider's key for an RS256/ES256 token (fetched
        off the event loop when not known yet)."""
        known = self._remembered(token)
        if known is not None:
            return known
        if self.jwks is None or not signed_by_provider(token):
            return self._remember(token, verify_token(token, self.settings))
        key = await self.jwks.key_for(token)
        return self._remember(token, verify_token(token, self.settings, key))

    def _remembered(self, token: str) -> Principal | None:
        now = time.time()
        known = self._accepted.get(token)
        if known is not None:
            principal, accepted_at, until = known
            if accepted_at <= now < until:
                self._accepted.move_to_end(token)  # least recently used goes first
                return principal
            del self._accepted[token]
        return None

    def _remember(self, token: str, principal: Principal) -> Principal:
        now = time.time()
        until = _expiry(token) + CLOCK_SKEW.total_seconds()
        if now < until:
            self._accepted[token] = (principal, now, until)
            if len(self._accepted) > self.capacity:
                self._accepted.popitem(last=False)
        return principal

    def close(self) -> None:
        if self.jwks is not None:
            self.jwks.close()


def _expiry(token: str) -> float:
    """`exp` of a token that verify_token accepted (so well-formed, with a numeric exp)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return float(claims["exp"])


class AnalyticsGraphQL(GraphQL[RequestContext, None]):
    """Strawberry's ASGI view with our per-request context (fresh loaders each time)."""

    def __init__(
        self,
        schema: Any,
        settings: Settings,
        budget: BudgetRegistry | None = None,
        account_slots: AccountSlots | None = None,
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
        # Per process, or shared through Redis (service/shared_limits) as the app chose.
        self.account_slots = account_slots or AccountSlots(settings.account_max_concurrent_requests)
        self.response_cache = GraphQLCacheHook(settings, schema, budget=self.budget)
        self.verified_tokens = VerifiedTokens(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A cache hit is answered here, before strawberry takes the request; everything
        else (a miss, a refusal, anything unusual) goes through strawberry as before."""
        if scope["type"] == "http" and scope["method"] == "POST" and self.response_cache.enabled:
            body, receive = await _buffered(receive)
            if body is not None:
                try:
                    response = await self._answer_from_cache(Request(scope, receive), body)
                except Exception:  # never a 500 from here: the usual way answers instead
                    logger.exception("response cache: the hit path failed")
                    response = None
                if response is not None:
                    await response(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)

    async def _answer_from_cache(self, request: Request, body: bytes) -> Response | None:
        """The stored answer of a plain JSON POST whose lookup hits, else None.

        The same steps as the way through strawberry, in the same order, without its
        request machinery: media type, body, token, the account's budget, persisted
        queries, one of the account's slots (waited for as long as the usual way would,
        which then refuses at once when none came free), the lookup. Nothing here refuses a
        request: whatever the usual way would refuse or could answer differently takes
        the usual way, and a lookup that does not hit is handed to it (no second lookup).
        """
        headers = request.headers
        content_type = headers.get("content-type") or ""
        accept = headers.get("accept") or ""
        if content_type.split(";")[0].strip() != "application/json":
            return None
        if "multipart" in accept or "event-stream" in accept:
            return None  # strawberry's incremental transports
        media_type = choose_media_type(accept)
        if media_type is None:
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict) or check_request_body(data) is not None:
            return None
        principal, _ = await authenticate(
            headers.get("authorization"), self.settings, self.verified_tokens
        )
        if principal is None:
            return None
        account = str(principal.account_id)
        if self.budget is not None and await self.budget.aexhausted(account) is not None:
            return None
        try:
            query = self.persisted_queries.resolve(
                data.get("query"), data.get("extensions"), account
            )
        except GraphQLError:
            return None
        if query is None:
            return None
        database: Database = request.app.state.database
        context = RequestContext(
            settings=self.settings,
            sessionmaker=database.primary,
            read_sessionmaker=database.read,
            principal=principal,
            request=request,
        )
        name = data.get("operationName")
        request_data = GraphQLRequestData(
            query=query,
            variables=data.get("variables"),
            operation_name=name,
            extensions=data.get("extensions"),
        )
        note_account(principal.account_id)
        note_operation(name, self.known_operations.label(name, query))
        # One timeout per request: what the slot wait and the lookup take here counts
        # against the execution's time too.
        deadline = None
        if self.settings.request_timeout_s > 0:
            deadline = asyncio.get_running_loop().time() + self.settings.request_timeout_s
            request.scope[_DEADLINE] = deadline
        scope = asyncio.timeout_at(deadline)
        try:
            async with scope, self.account_slots.hold(account, self._slot_wait_s()):
                ticket = await self.response_cache.lookup(
                    context, request_data, headers.get("if-none-match")
                )
        except SlotsBusy:
            request.scope[_WAITED_FOR_SLOT] = True  # the usual way answers at once
            return None
        except TimeoutError:
            if not scope.expired():
                raise
            return None  # the usual way answers TIMEOUT at once
        if not ticket.hit or ticket.refusal is not None or ticket.entry is None:
            self.response_cache.looked_up(request, ticket)
            return None
        negotiate(request)
        return finish(request, stored_response(ticket.entry, ticket.not_modified))

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        database: Database = request.app.state.database
        principal, auth_error = await authenticate(
            request.headers.get("authorization"), self.settings, self.verified_tokens
        )
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

    def encode_json(self, data: object) -> str | bytes:
        return encode_response(data)

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
                request.scope.pop(_DEADLINE, None),
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
        # A request that waited for a slot already (on the hit path) waits no longer.
        wait_s = 0.0 if request.scope.pop(_WAITED_FOR_SLOT, False) else self._slot_wait_s()
        try:
            async with self.account_slots.hold(account, wait_s):
                return await self._execute_in_slot(
                    account, request, request_adapter, sub_response, context, root_value,
                    request_data,
                )  # fmt: skip
        except SlotsBusy:
            busy = "too many requests of this account at once; retry in 1 s"
            return ExecutionResult(data=None, errors=[RateLimited(1.0, busy)])

    def _slot_wait_s(self) -> float | None:
        """How long a request waits for one of its account's slots: half its timeout."""
        timeout_s = self.settings.request_timeout_s
        return timeout_s / 2 if timeout_s > 0 else None

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
            retry_after = await self.budget.aexhausted(account)
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


def encode_response(data: object) -> str | bytes:
    """A response body: orjson's compact JSON, the same values as strawberry's json.dumps
    at a tenth of its time on a large tab (non-ASCII text comes as UTF-8 rather than \\u
    escapes, and exponents as 2e-6 rather than 2e-06: the same JSON numbers and strings).
    What orjson refuses (a lone surrogate in a message, say) is encoded as before."""
    try:
        return orjson.dumps(data)
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(data, separators=(",", ":"))


async def _buffered(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole request body (None when the client went away first), and a `receive`
    that hands the same messages to whoever reads the request next."""
    messages: deque[Message] = deque()
    chunks: list[bytes] = []
    body: bytes | None = None
    while True:
        message = await receive()
        if message["type"] != "http.request":
            messages.append(message)
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            body = b"".join(chunks)
            messages.append({"type": "http.request", "body": body, "more_body": False})
            break
    if body is None:
        messages.extendleft([{"type": "http.request", "body": b"".join(chunks), "more_body": True}])

    async def replay() -> Message:
        if messages:
            return messages.popleft()
        return await receive()

    return body, replay
