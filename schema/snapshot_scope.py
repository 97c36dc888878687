"""Ends each operation's read snapshot when the operation ends, however it was executed."""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension

from resolvers.context import RequestContext


class CloseSnapshot(SchemaExtension):
    """After execution, commit the request's read-only transaction and free its connection.

    The HTTP view also closes the context when a request is cancelled (timeout), since an
    extension's code after `yield` does not run then; closing twice is harmless.
    """

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        if isinstance(context, RequestContext):
            await context.close()
