"""The operations the insights page runs, each with the hash it sends as a persisted query.

One function decides the hash, so the page follows the server when the way persisted
queries are matched changes: the page never hashes anything itself.
"""

from __future__ import annotations

import functools
from typing import TypedDict

from graphql import OperationDefinitionNode, parse

from queries import PAGE_DOCUMENTS, TAB_DOCUMENTS, query_document, tab_query
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
        raise ValueError(f"a page document must have exactly one named operation, found {names}")
    return names[0]


@functools.cache
def page_operations() -> dict[str, PageOperation]:
    """The queries/ documents the page sends (the tabs, then the lists behind their
    counts) by operation name, hashed as the safelist accepts them today."""
    documents = [tab_query(tab) for tab in TAB_DOCUMENTS]
    documents += [query_document(name) for name in PAGE_DOCUMENTS]
    operations: dict[str, PageOperation] = {}
    for document in documents:
        operations[_operation_name(document)] = {
            "sha256Hash": sha256_hex(document),
            "document": document,
        }
    return operations
