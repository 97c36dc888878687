"""The cache key: everything an answer depends on, hashed.

Account, access class (role), the normalized document, operation, canonical variables,
the database epoch and the account's data version, and the account's local date (the
windows are local days). Documents are normalized once per distinct text, so a hit
costs no parse.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse, print_ast


@dataclass(frozen=True)
class DocumentFacts:
    digest: str
    # operation name ("" for an anonymous one) -> is a query
    queries: dict[str, bool]

    def is_query(self, operation: str | None) -> bool:
        if operation is None:
            if len(self.queries) != 1:
                return False
            return next(iter(self.queries.values()))
        return self.queries.get(operation, False)


@functools.lru_cache(maxsize=2048)
def document_facts(query: str) -> DocumentFacts | None:
    """The normalized document's digest and its operations; None when it does not parse."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    queries = {
        (d.name.value if d.name else ""): d.operation is OperationType.QUERY
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    }
    digest = hashlib.sha256(print_ast(document).encode()).hexdigest()
    return DocumentFacts(digest, queries)


def canonical_variables(variables: dict[str, Any] | None) -> str:
    return json.dumps(variables or {}, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class DataState:
    """What the request's snapshot shows: epoch, version and the account's local date."""

    epoch: str
    version: int
    local_date: date


def cache_key(
    *,
    kind: str,
    account_id: str,
    access: str,
    document: str,
    operation: str | None,
    variables: dict[str, Any] | None,
    state: DataState,
) -> str:
    parts = [
        kind,
        account_id,
        access,
        document,
        operation or "",
        canonical_variables(variables),
        state.epoch,
        str(state.version),
        state.local_date.isoformat(),
    ]
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"fp:rc:{account_id}:{state.version}:{digest}"
