"""Which operation names may become metric labels: only those of documents we know.

Operation names are client-chosen, so labelling every name lets anyone (even without a
token) grow the metrics without bound or take label slots first. A request is labelled
with its operation's name only when that name belongs to a known document (the
first-party `queries/`, and later the persisted-query manifests through `add`);
everything else is `other`.
"""

from __future__ import annotations

from collections.abc import Iterable

from graphql import OperationDefinitionNode, parse

from core.errors import BadUserInput
from queries import TAB_DOCUMENTS, tab_query
from service.pipeline.persisted_queries import sha256_hex

OTHER = "other"


class KnownOperations:
    """Operation names of known documents, by name and by the documents' hashes."""

    def __init__(self, documents: Iterable[str] = ()) -> None:
        self.names: set[str] = set()
        self._single_by_hash: dict[str, str] = {}
        self.add(documents)

    def add(self, documents: Iterable[str]) -> None:
        """Learn the operations of trusted documents (parsed once here, never per request)."""
        for text in documents:
            operations = [
                definition.name.value
                for definition in parse(text).definitions
                if isinstance(definition, OperationDefinitionNode) and definition.name
            ]
            self.names.update(operations)
            if len(operations) == 1:
                self._single_by_hash[sha256_hex(text)] = operations[0]

    def label(self, operation_name: str | None, query: str | None) -> str:
        """The request's operation when it is known, else `other`; never parses `query`."""
        if operation_name is not None:
            return operation_name if operation_name in self.names else OTHER
        if query is None:
            return OTHER
        try:
            digest = sha256_hex(query)
        except BadUserInput:  # no UTF-8 form: not one of ours (execution refuses it)
            return OTHER
        return self._single_by_hash.get(digest, OTHER)


def first_party_operations() -> KnownOperations:
    """The operations of the `queries/` documents."""
    return KnownOperations(tab_query(tab) for tab in TAB_DOCUMENTS)
