"""The response cache in the GraphQL view: three calls, so the view keeps one small hook.

`before` (in `execute_single`, inside the request timeout): a hit returns a placeholder
result and the stored bytes ride on the request; `after` (in `process_result`) stores
the processed answer of a miss that has no errors; `response` (in `create_response`)
sends the stored bytes, a 304, or the fresh answer with its ETag.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult

from core.settings import Settings
from queries import TAB_DOCUMENTS, tab_query
from resolvers.context import RequestContext
from schema.limits.budget import BudgetRegistry
from schema.limits.query_cost import QueryCost
from service.response_cache import conditional
from service.response_cache.cache import ResponseCache, Ticket, attach, attached
from service.response_cache.entry import Entry

_RESPONSE_ATTR = "_flowpilot_response_cache"
_LOOKED_UP = "flowpilot.response_cache.looked_up"


def schema_budget(schema: BaseSchema) -> BudgetRegistry | None:
    """The account budget the schema's cost extension charges (schema/limits)."""
    for factory in getattr(schema, "extensions", ()):
        if isinstance(factory, functools.partial) and factory.func is QueryCost:
            budget = factory.keywords.get("budget")
            return budget if isinstance(budget, BudgetRegistry) else None
    return None


class GraphQLCacheHook:
    def __init__(
        self, settings: Settings, schema: BaseSchema, budget: BudgetRegistry | None = None
    ) -> None:
        """`budget`: the account budget to charge hits (default: the schema's own)."""
        self.cache = ResponseCache.from_settings(settings, budget or schema_budget(schema))
        for tab in TAB_DOCUMENTS:
            document = tab_query(tab)
            facts = self.cache.facts(document)
            for operation in (None, *(facts.queries if facts else ())):
                self.cache.trust("graphql", document, operation)
                self.cache.trust("csv", document, operation)

    async def before(
        self,
        request: Request,
        sub_response: Response,
        context: RequestContext,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult | None:
        """A result to return instead of executing (a hit or its refusal), else None."""
        ticket: Ticket | None = request.scope.pop(_LOOKED_UP, None)
        if ticket is None:
            ticket = await self.lookup(context, request_data, request.headers.get("if-none-match"))
        attach(request, ticket)
        setattr(sub_response, _RESPONSE_ATTR, ticket)
        if ticket.refusal is not None:
            return ExecutionResult(data=None, errors=[ticket.refusal])
        if ticket.hit:
            return ExecutionResult(data=None, errors=None)
        return None

    @property
    def enabled(self) -> bool:
        return self.cache.tier is not None

    async def lookup(
        self, context: RequestContext, request_data: GraphQLRequestData, if_none_match: str | None
    ) -> Ticket:
        return await self.cache.lookup(
            context,
            kind="graphql",
            query=request_data.query,
            operation=request_data.operation_name,
            variables=request_data.variables,
            if_none_match=if_none_match,
        )

    def looked_up(self, request: Request, ticket: Ticket) -> None:
        """A lookup made before strawberry took the request (the view's hit path): `before`
        uses its ticket instead of looking up a second time."""
        request.scope[_LOOKED_UP] = ticket

    async def after(
        self, request: Request, response: GraphQLHTTPResponse, encode: Callable[[Any], Any]
    ) -> None:
        """Store a miss's processed answer when it is whole (no errors, data present);
        `encode` is the view's own, so a hit sends the very bytes the miss sent."""
        ticket = attached(request)
        if ticket is None or ticket.key is None or ticket.hit:
            return
        if response.get("errors") or response.get("data") is None:
            return
        body = encode(response)
        await self.cache.store(ticket, body if isinstance(body, bytes) else body.encode())

    def served(self, request: Request) -> bool:
        """Whether this request is answered from the cache (its result is a placeholder)."""
        ticket = attached(request)
        return ticket is not None and ticket.hit and ticket.refusal is None

    def response(self, sub_response: Response) -> Response | None:
        """The bytes to send for a hit or a stored miss; None: build the usual response."""
        ticket: Ticket | None = getattr(sub_response, _RESPONSE_ATTR, None)
        if ticket is None or ticket.entry is None or ticket.refusal is not None:
            return None  # bypassed, refused, or a miss not stored: the usual response
        response = stored_response(ticket.entry, ticket.not_modified)
        if ticket.not_modified:
            return response
        response.headers.raw.extend(
            (name, value) for name, value in sub_response.headers.raw if name != b"content-length"
        )
        return response


def stored_response(entry: Entry, not_modified: bool) -> Response:
    """The stored bytes as they were sent (a 304 when the client has them)."""
    if not_modified:
        return conditional.not_modified(entry.etag)
    response = Response(entry.body, 200, media_type="application/json")
    response.headers.update(conditional.headers(entry.etag))
    return response
