"""What the current field's sub-selection asks for, so a list loads only what it needs.

Read from graphql-core's own AST (fragments followed, arguments coerced as the
executor coerces them), and kept per request and field node: a field resolved for
every item of a list (a flow's `previous`, say) asks the same question once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import VariableValues, get_argument_values

from resolvers.context import Info


@dataclass(frozen=True)
class Selected:
    """One selection of a child field: its node and its arguments' values."""

    node: FieldNode
    arguments: dict[str, Any]


def _children(
    raw: GraphQLResolveInfo[Any], selection_set: SelectionSetNode | None
) -> Iterator[FieldNode]:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, FragmentSpreadNode):
            yield from _children(raw, raw.fragments[selection.name.value].selection_set)
        elif isinstance(selection, InlineFragmentNode):
            yield from _children(raw, selection.selection_set)


def _child_fields(raw: GraphQLResolveInfo[Any]) -> Iterator[FieldNode]:
    for node in raw.field_nodes:
        yield from _children(raw, node.selection_set)


def _cached(info: Info, question: object, answer: Any) -> Any:
    cache = info.context.selection_cache
    key = (*(id(node) for node in info._raw_info.field_nodes), question)
    if key not in cache:
        cache[key] = answer()
    return cache[key]


def selects_any(info: Info, names: frozenset[str]) -> bool:
    """Whether the current field's sub-selection asks for any of `names` (camelCase)."""
    raw = info._raw_info
    answer: bool = _cached(
        info, names, lambda: any(child.name.value in names for child in _child_fields(raw))
    )
    return answer


def subfields(info: Info, name: str) -> list[Selected]:
    """Every selection of the child field `name` under the current field (aliases and
    fragments included), with its arguments coerced."""
    raw = info._raw_info

    def find() -> list[Selected]:
        parent = get_named_type(raw.return_type)
        assert isinstance(parent, GraphQLObjectType)
        definition = parent.fields[name]
        variables = raw.variable_values
        if isinstance(variables, dict):  # strawberry hands the coerced values over as a dict
            variables = VariableValues(sources={}, coerced=variables)
        return [
            Selected(child, get_argument_values(definition, child, variables))
            for child in _child_fields(raw)
            if child.name.value == name
        ]

    found: list[Selected] = _cached(info, ("subfields", name), find)
    return found


def selects_in(info: Info, fields: list[Selected], names: frozenset[str]) -> bool:
    """Whether any of `fields` selects any of `names` directly (fragments included)."""
    raw = info._raw_info
    return any(
        child.name.value in names
        for field in fields
        for child in _children(raw, field.node.selection_set)
    )
