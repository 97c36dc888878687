"""A static cost estimate of a GraphQL operation, computed before anything runs.

Every field costs 1; a list field multiplies the cost of its sub-selection by the
number of items it will return: its `first` argument when it has one; for a daily trend
the days of its tab's window (`period` or `range` of the root field, also under
`previous`); else the expected size from `LIST_SIZES`, else `DEFAULT_LIST_SIZE`. Mutation
root fields cost `MUTATION_FIELD_COST` more, since each one writes. The estimate only
needs the document, the schema and the variables, so an over-limit query is refused
before any SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    VariableNode,
    value_from_ast_untyped,
)

from schema.limits.window_days import LONGEST, window_days

DEFAULT_LIST_SIZE = 10
MUTATION_FIELD_COST = 10
# Expected sizes of the lists of the analytics contract ("Type.field" -> items).
LIST_SIZES: Mapping[str, int] = {
    "FlowQuality.flows": 100,  # without `first`: every flow of the account
    "FlowQuality.topPerformers": 5,
    "FlowQuality.bottomPerformers": 5,
    "FlowQuality.needsAttention": 50,
    "Overview.domains": 25,
    "Coverage.domains": 25,
    "Coverage.knowledgeGaps": 25,
    "Domain.flows": 20,
    "PsaActivity.activityCounts": 3,  # one per activity type
    "EvidenceSession.pushes": 5,
    "Query.domainAliases": 50,
    "Query.domainAliasSuggestions": 25,
    "DomainAliasResult.aliases": 50,
    "DomainAliasSuggestion.reasons": 3,
}
# Evidence pages: `nodes` has as many items as the `first` of the field that returns the
# page (its default when not given), each session with a few PSA pushes.
PAGE_LISTS: Mapping[str, int] = {"SessionEvidence.nodes": 50, "PsaActivityEvidence.nodes": 50}
# Lists with one item per day of the window of the tab they belong to.
WINDOW_LISTS = frozenset({"Overview.dailyTrend", "PsaActivity.dailyTrend"})
_MAX_FRAGMENT_DEPTH = 50


def _unwrap(type_: GraphQLType) -> tuple[GraphQLType, bool]:
    """The named type behind NonNull/List wrappers, and whether a list was among them."""
    is_list = False
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        if isinstance(type_, GraphQLList):
            is_list = True
        type_ = type_.of_type
    return type_, is_list


class CostEstimator:
    """Estimates one document against one schema with the request's variables."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any] | None,
        variable_defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = dict(variable_defaults or {})
        self.variables.update(variables or {})
        # The `first` of the enclosing fields that return a page (innermost last).
        self._pages: list[int | None] = []

    def operation(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        extra = MUTATION_FIELD_COST if operation.operation is OperationType.MUTATION else 0
        return self._selection(operation.selection_set, root, frozenset(), LONGEST, extra)

    def _selection(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        fragments_seen: frozenset[str],
        window: int,
        field_extra: int = 0,
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += field_extra + self._field(selection, parent, fragments_seen, window)
            elif isinstance(selection, InlineFragmentNode):
                condition = parent
                if selection.type_condition is not None:
                    condition = self.schema.get_type(selection.type_condition.name.value)
                total += self._selection(
                    selection.selection_set, condition, fragments_seen, window, field_extra
                )
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if (
                    fragment is None
                    or name in fragments_seen
                    or len(fragments_seen) >= _MAX_FRAGMENT_DEPTH
                ):
                    continue  # unknown or cyclic: validation reports it
                condition = self.schema.get_type(fragment.type_condition.name.value)
                total += self._selection(
                    fragment.selection_set, condition, fragments_seen | {name}, window, field_extra
                )
        return total

    def _field(
        self,
        node: FieldNode,
        parent: GraphQLNamedType | None,
        fragments_seen: frozenset[str],
        window: int,
    ) -> int:
        definition: GraphQLField | None = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(node.name.value)
        if definition is None:
            return 1 + self._selection(node.selection_set, None, fragments_seen, window)
        window = window_days(node, definition, self.variables) or window
        named, is_list = _unwrap(definition.type)
        assert isinstance(named, GraphQLNamedType)
        self._pages.append(None if is_list else self._first(node))
        try:
            children = self._selection(node.selection_set, named, fragments_seen, window)
        finally:
            self._pages.pop()
        if not is_list or node.selection_set is None:
            return 1 + children
        coordinate = f"{parent.name}.{node.name.value}"  # type: ignore[union-attr]
        if coordinate in WINDOW_LISTS:
            return 1 + window * children
        if coordinate in PAGE_LISTS:
            page = self._pages[-1] if self._pages else None
            return 1 + (PAGE_LISTS[coordinate] if page is None else page) * children
        return 1 + self._list_size(node, coordinate) * children

    def _first(self, node: FieldNode) -> int | None:
        """The field's `first` argument when the document or variables give an int."""
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value: Any = None
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value)
            if isinstance(value, int) and not isinstance(value, bool):
                return max(value, 0)
        return None

    def _list_size(self, node: FieldNode, coordinate: str) -> int:
        first = self._first(node)
        if first is not None:
            return first
        return LIST_SIZES.get(coordinate, DEFAULT_LIST_SIZE)


def _variable_defaults(operation: OperationDefinitionNode) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        if definition.default_value is not None:
            value = value_from_ast_untyped(definition.default_value)
            if value is not Undefined:
                defaults[definition.variable.name.value] = value
    return defaults


def operation_cost(
    schema: GraphQLSchema,
    definitions: Any,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """The cost of the operation a request runs (the costliest one when it is ambiguous)."""
    fragments = {
        definition.name.value: definition
        for definition in definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    operations = [
        definition for definition in definitions if isinstance(definition, OperationDefinitionNode)
    ]
    if operation_name is not None:
        operations = [
            op for op in operations if op.name is not None and op.name.value == operation_name
        ]
    costs = [
        CostEstimator(schema, fragments, variables, _variable_defaults(op)).operation(op)
        for op in operations
    ]
    return max(costs, default=0)
