"""The operations the insights page runs, each with the hash it sends as a persisted query.

One function decides the hash, so the page follows the server when the way persisted
queries are matched changes: the page never hashes anything itself.
"""

from __future__ import annotations

import functools
from typing import TypedDict

from graphql import OperationDefinitionNode, parse

from queries import TAB_DOCUMENTS, tab_query
from service.pipeline.persisted_queries import sha256_hex


class PageOperation(TypedDict):
    """What the page needs to send one operation: its hash, and its text for the APQ retry."""

    sha256Hash: str
    document: str


def _operation_name(document: str) -> str:
    """The name of the document's single operation (the queries/ documents each have one)."""
    names = [
        definition.name.value
        for definition in parse(document).definitions
        if isinstance(definition, OperationDefinitionNode) and definition.name is not None
    ]
    if len(names) != 1:
        raise ValueError(f"a tab document must have exactly one named operation, found {names}")
    return names[0]


@functools.cache
def page_operations() -> dict[str, PageOperation]:
    """The queries/ documents by operation name, hashed as the safelist accepts them today."""
    operations: dict[str, PageOperation] = {}
    for tab in TAB_DOCUMENTS:
        document = tab_query(tab)
        operations[_operation_name(document)] = {
            "sha256Hash": sha256_hex(document),
            "document": document,
        }
    return operations
