"""Tags a whole answer with the data state of its snapshot before the snapshot ends.

A document seen for the first time runs without reading the version first (a refused
query stays free of SQL); its version is read here, after execution, in the same
REPEATABLE READ snapshot, which sees the same state the answer was computed from.
Runs inside `CloseSnapshot` (an operation hook), so the snapshot is still open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension

from resolvers.context import RequestContext
from service.response_cache.cache import attached, tag


class TagWithDataVersion(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        yield
        execution = self.execution_context
        context = execution.context
        result = execution.result
        if not isinstance(context, RequestContext) or result is None:
            return
        if result.errors or result.data is None:
            return
        ticket = attached(context.request)
        if ticket is not None:
            await tag(context, ticket)
