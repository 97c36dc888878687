"""Introspection operations are exempt from the cost limit (not from tokens or aliases).

GraphiQL, code generators and IDE plugins send graphql-js's introspection query, whose
estimated cost grows with the schema and with its `typeDepth`; refusing it would break
them as the schema grows. It reads only the in-memory schema (no SQL); the token and
alias limits still bound its size, and graphql's MaxIntrospectionDepthRule (a standard
validation rule) refuses the nested `fields { type { fields ...` that would multiply it.
An operation is exempt only when every root field it selects (through fragments too) is
`__schema`, `__type` or `__typename`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)

INTROSPECTION_ROOT_FIELDS = frozenset({"__schema", "__type", "__typename"})


def _only_introspection(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: set[str],
) -> bool:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value not in INTROSPECTION_ROOT_FIELDS:
                return False
        elif isinstance(selection, InlineFragmentNode):
            if not _only_introspection(selection.selection_set, fragments, seen):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None:
                return False
            if name in seen:
                continue
            seen.add(name)
            if not _only_introspection(fragment.selection_set, fragments, seen):
                return False
    return True


def is_introspection_operation(document: DocumentNode, operation_name: str | None) -> bool:
    """True when the operation the request runs is a query of introspection fields only."""
    definitions: Iterable[object] = document.definitions
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [op for op in operations if op.name and op.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
        return False
    return _only_introspection(operations[0].selection_set, fragments, set())
