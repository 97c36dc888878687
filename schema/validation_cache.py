"""Validate each distinct query text once: validation is most of a small request's CPU.

Only successful validations are cached (errors are per-request objects that later get a
request id), keyed by the text and the exact rule classes, so a schema whose limits
differ never shares an entry. The rule classes must therefore be built once per schema,
not per request (see `schema.limits.limit_extensions`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from threading import Lock

from graphql import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

ValidKey = tuple[str, tuple[type[ASTValidationRule], ...]]


class ValidDocuments:
    """A bounded LRU set of (query text, rules) pairs that validated without errors."""

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._keys: OrderedDict[ValidKey, None] = OrderedDict()
        self._lock = Lock()

    def __contains__(self, key: ValidKey) -> bool:
        with self._lock:
            if key in self._keys:
                self._keys.move_to_end(key)
                return True
            return False

    def add(self, key: ValidKey) -> None:
        with self._lock:
            self._keys[key] = None
            self._keys.move_to_end(key)
            while len(self._keys) > self.maxsize:
                self._keys.popitem(last=False)


class CachedValidation(SchemaExtension):
    """Skip validation of a query text that already validated under the same rules."""

    def __init__(self, valid: ValidDocuments) -> None:
        self.valid = valid

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and context.graphql_document is not None:
            key: ValidKey = (context.query, tuple(context.validation_rules))
            if key in self.valid:
                context.pre_execution_errors = []
            else:
                errors = validate_document(context.schema._schema, context.graphql_document, key[1])
                context.pre_execution_errors = errors
                if not errors:
                    self.valid.add(key)
        yield


def cached_validation(maxsize: int = 256) -> Callable[[], CachedValidation]:
    """A factory whose extensions (one per request) share one cache."""
    valid = ValidDocuments(maxsize)
    return lambda: CachedValidation(valid)
