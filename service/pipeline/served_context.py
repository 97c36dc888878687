"""The request context the pipeline hands the schema: the resolvers' own, plus what the
pipeline's schema hooks read, passed as the context rather than beside the request."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import DocumentNode

from resolvers.context import RequestContext
from service.response_cache.cache import Ticket


@dataclass
class ServedContext(RequestContext):
    """`document`: the text as the pipeline parsed it (None: not parsed yet), so execution
    does not parse it again; `ticket`: the response cache's decision, whose key a miss's
    answer is tagged with before its snapshot ends."""

    document: DocumentNode | None = None
    ticket: Ticket | None = None
