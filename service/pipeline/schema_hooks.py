"""The pipeline's two hooks inside strawberry's execution, fed by the request context.

`ParsedOnce` hands the parse step the document the pipeline already parsed (under the
same token limit), so a miss parses its text once. `TagWithDataVersion` tags a whole
answer with the data state of its snapshot before the snapshot ends: a document seen for
the first time runs without reading the version first (a refused query stays free of
SQL); its version is read here, after execution, in the same REPEATABLE READ snapshot,
which sees the state the answer was computed from. It runs inside `CloseSnapshot` (an
operation hook), so the snapshot is still open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from strawberry.extensions import SchemaExtension

from service.pipeline.served_context import ServedContext
from service.response_cache.cache import tag


class ParsedOnce(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        if (
            execution.graphql_document is None  # a validated document cached already wins
            and isinstance(context, ServedContext)
            and context.document is not None
        ):
            execution.graphql_document = context.document
        yield


class TagWithDataVersion(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        yield
        execution = self.execution_context
        context = execution.context
        result = execution.result
        if not isinstance(context, ServedContext) or context.ticket is None or result is None:
            return
        if result.errors or result.data is None:
            return
        await tag(context, context.ticket)
