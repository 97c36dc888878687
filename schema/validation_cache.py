"""Parse and validate each distinct query text once: together they are most of a small
request's CPU (the tab documents are re-sent on every tab switch).

Only documents that parsed and validated without errors are cached (errors are
per-request objects that later get a request id), keyed by the text and the exact rule
classes, so a schema whose limits differ never shares an entry. The rule classes must
therefore be built once per schema, not per request (see `schema.limits.limit_extensions`).
A cached document skips parsing, and so the token limit, which it passed when first parsed
under the same settings.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from threading import Lock

from graphql import ASTValidationRule, DocumentNode
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

ValidKey = tuple[str, tuple[type[ASTValidationRule], ...]]


class ValidDocuments:
    """A bounded LRU map from (query text, rules) to the document that validated."""

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._documents: OrderedDict[ValidKey, DocumentNode] = OrderedDict()
        self._lock = Lock()

    def get(self, key: ValidKey) -> DocumentNode | None:
        with self._lock:
            document = self._documents.get(key)
            if document is not None:
                self._documents.move_to_end(key)
            return document

    def add(self, key: ValidKey, document: DocumentNode) -> None:
        with self._lock:
            self._documents[key] = document
            self._documents.move_to_end(key)
            while len(self._documents) > self.maxsize:
                self._documents.popitem(last=False)


class CachedValidation(SchemaExtension):
    """Skip parsing and validation of a query text that already validated under the same
    rules."""

    def __init__(self, valid: ValidDocuments) -> None:
        self.valid = valid
        self.hit = False

    def _key(self) -> ValidKey | None:
        context = self.execution_context
        if context.query is None:
            return None
        return (context.query, tuple(context.validation_rules))

    def on_parse(self) -> Iterator[None]:
        key = self._key()
        document = None if key is None else self.valid.get(key)
        if document is not None:
            self.execution_context.graphql_document = document
            self.hit = True
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        key = self._key()
        if self.hit:
            context.pre_execution_errors = []
        elif key is not None and context.graphql_document is not None:
            document = context.graphql_document
            errors = validate_document(context.schema._schema, document, key[1])
            context.pre_execution_errors = errors
            if not errors:
                self.valid.add(key, document)
        yield


def cached_validation(maxsize: int = 256) -> Callable[[], CachedValidation]:
    """A factory whose extensions (one per request) share one cache."""
    valid = ValidDocuments(maxsize)
    return lambda: CachedValidation(valid)
