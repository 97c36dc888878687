"""The cache key: everything an answer depends on, hashed.

Account, access class (role), the normalized document, operation, canonical variables,
the database epoch and the account's data version, and the account's local date (the
windows are local days). Documents are normalized once per distinct text, so a hit
costs no parse. That parse is held to the schema's token limit (a hostile text costs
what strawberry's own limited parse costs, not its full length), and the memo of facts
is keyed by the text's digest, so it never pins the texts themselves.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    parse,
    print_ast,
)


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


FACTS_MEMO_SIZE = 2048


class DocumentFactsMemo:
    """Facts of recently seen texts (None for one that does not parse within the limit),
    least recently used first out; keyed by (SHA-256 of the text, token limit)."""

    def __init__(self, maxsize: int = FACTS_MEMO_SIZE) -> None:
        self.maxsize = maxsize
        self._facts: OrderedDict[tuple[bytes, int], DocumentFacts | None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._facts)

    def facts(self, query: str, max_tokens: int) -> DocumentFacts | None:
        return self.facts_and_document(query, max_tokens)[0]

    def facts_and_document(
        self, query: str, max_tokens: int
    ) -> tuple[DocumentFacts | None, DocumentNode | None]:
        """The text's facts, and its document when it was parsed now (None when the facts
        were known): the caller executes that document rather than parsing it again."""
        text_digest = hashlib.sha256(query.encode("utf-8", "surrogatepass")).digest()
        key = (text_digest, max_tokens)
        if key in self._facts:
            self._facts.move_to_end(key)
            return self._facts[key], None
        document = parse_document(query, max_tokens)
        facts = None if document is None else document_facts(document)
        self._facts[key] = facts
        if len(self._facts) > self.maxsize:
            self._facts.popitem(last=False)
        return facts, document


def parse_document(query: str, max_tokens: int) -> DocumentNode | None:
    """The document as strawberry's limited parse makes it (locations kept, for errors);
    None when it does not parse within `max_tokens` (the request then meets the same
    refusal from strawberry's own parse)."""
    try:
        return parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return None


def parse_facts(query: str, max_tokens: int) -> DocumentFacts | None:
    """The normalized document's digest and its operations; None when it does not parse
    within `max_tokens`."""
    document = parse_document(query, max_tokens)
    return None if document is None else document_facts(document)


def document_facts(document: DocumentNode) -> DocumentFacts:
    """The normalized document's digest and its operations."""
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
