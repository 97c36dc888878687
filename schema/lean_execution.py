"""Execution with a short path for plain leaf fields.

Most fields of a tab response are plain attributes of the objects the list-level loaders
build (a trend point's `sessions`, a domain's `guidedRate`): a scalar or enum read from
the source with no resolver, guard or argument. graphql-core runs the same generic
machinery for each of them (resolve info, argument coercion, value completion), which
was most of a tab's CPU. Here such a field is read and serialized directly; any field
with a resolver, extension (the role guard), argument or object type takes the generic
path, and so does a plain leaf whose value the short path does not accept as is (null
on a non-null field, a value its scalar refuses, an awaitable): reading an attribute has
no side effect, so the generic path reads it again and reports the error as it always did.
A plain leaf of graphql-core's Float, Int, String, Boolean or ID whose value is already what
the scalar would return (a finite float, a 32-bit int, a str, a bool) is returned as it is.

An object value (a list item, say) of an object type that does not check its values
(no `is_type_of`) goes straight to its sub-selection, which is where graphql-core's value
completion ends for it anyway; nulls, errors and every other type keep the generic path.
A plain field of such an object type (a ranked flow's `flow`: an attribute, no resolver,
guard or argument) is read the same way and its present value goes straight to its
sub-selection too, with the generic path's error handling around it. A Python list or
tuple of such objects (not streamed) is completed in one loop: each present item goes
straight to its sub-selection, and an item that is null, an error or an awaitable takes
the generic per-item path. An object with some plain fields and some others (a domain
with its resolved `flows`) reads the plain ones in the same loop and runs the others
through graphql-core's field execution, gathering their awaitables as it does.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from graphql import (
    BREAK,
    DirectiveNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    Visitor,
    visit,
)
from graphql.execution.collect_fields import FieldDetailsList, FragmentDetails, GroupedFieldSet
from graphql.pyutils import Path, Undefined, gather_with_cancel
from graphql.type import scalars
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter


class PlainLeaf(NamedTuple):
    """How to read one plain field: its attribute, its serializer (a leaf) or the object
    type its values complete as directly (an object), and whether it may be null."""

    attribute: str
    serialize: Any
    nullable: bool
    object_type: GraphQLObjectType | None = None
    field_type: GraphQLOutputType | None = None  # an object field's declared type
    # The Python type whose values the leaf's scalar returns unchanged (see _PASS_THROUGH).
    exact: type | None = None


# graphql-core's own serializers return a finite float, a 32-bit int, a str or a bool
# unchanged; `_read` returns such values without calling them (a tab's responses are
# mostly numbers). Another serializer (a strawberry scalar override, say) is always called.
_PASS_THROUGH: dict[Any, type] = {
    scalars.serialize_float: float,
    scalars.serialize_int: int,
    scalars.serialize_string: str,
    scalars.serialize_boolean: bool,
    scalars.serialize_id: str,
}


_NOT_PLAIN = PlainLeaf("", None, False)
# (object type, field name) -> how to read it, or _NOT_PLAIN; types live as long as the
# schema, so the map stays as small as the schema.
_plain_leaves: dict[tuple[GraphQLObjectType, str], PlainLeaf] = {}


def _plain_leaf(parent_type: GraphQLObjectType, name: str) -> PlainLeaf:
    key = (parent_type, name)
    found = _plain_leaves.get(key)
    if found is None:
        found = _plain_leaves[key] = _inspect(parent_type, name)
    return found


def _inspect(parent_type: GraphQLObjectType, name: str) -> PlainLeaf:
    field = parent_type.fields.get(name)
    if field is None or field.args or field.subscribe is not None:
        return _NOT_PLAIN
    # Strawberry marks the resolver of a field without resolver or extensions this way.
    if not getattr(field.resolve, "_is_default", False):
        return _NOT_PLAIN
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None or definition.default_resolver is not getattr:
        return _NOT_PLAIN
    if definition.base_resolver is not None or definition.extensions:
        return _NOT_PLAIN
    type_ = field.type
    nullable = not isinstance(type_, GraphQLNonNull)
    if not nullable:
        type_ = type_.of_type
    if isinstance(type_, GraphQLObjectType) and not type_.is_type_of:
        return PlainLeaf(definition.python_name, None, nullable, type_, field.type)
    if not isinstance(type_, GraphQLScalarType | GraphQLEnumType):
        return _NOT_PLAIN
    serialize = type_.coerce_output_value
    exact = _PASS_THROUGH.get(serialize) if isinstance(type_, GraphQLScalarType) else None
    return PlainLeaf(definition.python_name, serialize, nullable, exact=exact)


# id(output type) -> (the type, the object type its values complete as directly, or None).
_direct_objects: dict[int, tuple[GraphQLOutputType, GraphQLObjectType | None]] = {}


def _direct_object(return_type: GraphQLOutputType) -> GraphQLObjectType | None:
    found = _direct_objects.get(id(return_type))
    if found is None or found[0] is not return_type:
        inner = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
        direct = inner if isinstance(inner, GraphQLObjectType) and not inner.is_type_of else None
        found = _direct_objects[id(return_type)] = (return_type, direct)
    return found[1]


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, with plain leaf fields read directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Strawberry always passes a middleware manager; it wraps resolvers only when an
        # extension resolves fields, and then every field keeps the generic path.
        manager = self.middleware_manager
        # An operation that defers or streams runs graphql-core's path throughout: a field
        # selected both at once and in a deferred fragment (a list, say) is split between
        # the first payload and a later one by bookkeeping the short paths do not keep.
        self.direct_leaves = (manager is None or not manager.middlewares) and not _incremental(
            self.schema, self.operation, self.fragments
        )
        # id(grouped field set) -> (the set, its parent type, (its fields with how to read
        # each, in order, or None when none is plain; whether all are plain leaves)).
        # graphql-core collects one set per sub-selection and reuses it for every item of
        # a list (the set is kept alive here, so its id is not reused during the execution).
        self.leaf_plans: dict[int, tuple[GroupedFieldSet, GraphQLObjectType, Any]] = {}

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        if self.direct_leaves:
            leaf = _plain_leaf(parent_type, field_details_list[0].node.name.value)
            if leaf.serialize is not None:
                value = _read(leaf, source, self.is_awaitable)
                if value is not Undefined:
                    return value
            return self._object_or_generic(
                parent_type, leaf, source, field_details_list, path, position_context
            )
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _object_or_generic(
        self,
        parent_type: GraphQLObjectType,
        leaf: PlainLeaf,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        """A plain object field straight into its sub-selection, else graphql-core's way."""
        if leaf.object_type is not None:
            value = self._plain_object(leaf, source, field_details_list, path, position_context)
            if value is not Undefined:
                return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        """An object whose selected fields are all plain leaves is read in one loop; one
        with some plain fields reads those directly and runs the others as graphql-core
        does (their path, their awaitables gathered the same way)."""
        if self.direct_leaves:
            leaves, plain = self._field_plan(parent_type, grouped_field_set)
            if plain and leaves is not None:
                results: dict[str, Any] = {}
                is_awaitable = self.is_awaitable
                for response_name, leaf, _details in leaves:
                    value = _read(leaf, source_value, is_awaitable)
                    if value is Undefined:
                        break
                    results[response_name] = value
                else:
                    return results
            elif leaves is not None:
                return self._execute_mixed_fields(
                    parent_type, source_value, path, leaves, position_context
                )
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )

    def _execute_mixed_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        leaves: tuple[tuple[str, PlainLeaf, FieldDetailsList], ...],
        position_context: Any,
    ) -> Any:
        """graphql-core's `execute_fields`, with plain leaves read without a path."""
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        type_name = parent_type.name
        try:
            for response_name, leaf, field_details_list in leaves:
                if leaf.serialize is not None:
                    value = _read(leaf, source_value, is_awaitable)
                    if value is not Undefined:
                        results[response_name] = value
                        continue
                value = self._object_or_generic(
                    parent_type,
                    leaf,
                    source_value,
                    field_details_list,
                    Path(path, response_name, type_name),
                    position_context,
                )
                if value is not Undefined:
                    results[response_name] = value
                    if is_awaitable(value):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._await_fields(results, awaitable_fields)

    @staticmethod
    async def _await_fields(results: dict[str, Any], awaitable_fields: list[str]) -> Any:
        if len(awaitable_fields) == 1:
            field = awaitable_fields[0]
            results[field] = await results[field]
        else:
            awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
            results.update(zip(awaitable_fields, awaited, strict=True))
        return results

    def _field_plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> tuple[tuple[tuple[str, PlainLeaf, FieldDetailsList], ...] | None, bool]:
        """(response name, leaf, field details) of every field in order (None when no
        field is plain), and whether every field is a plain leaf."""
        plan = self.leaf_plans.get(id(grouped_field_set))
        if plan is None or plan[0] is not grouped_field_set or plan[1] is not parent_type:
            leaves = tuple(
                (
                    response_name,
                    _plain_leaf(parent_type, field_details_list[0].node.name.value),
                    field_details_list,
                )
                for response_name, field_details_list in grouped_field_set.items()
            )
            all_leaves = all(leaf.serialize is not None for _name, leaf, _details in leaves)
            some_plain = any(
                leaf.serialize is not None or leaf.object_type is not None
                for _name, leaf, _details in leaves
            )
            plan = (grouped_field_set, parent_type, (leaves if some_plain else None, all_leaves))
            self.leaf_plans[id(grouped_field_set)] = plan
        found: tuple[tuple[tuple[str, PlainLeaf, FieldDetailsList], ...] | None, bool] = plan[2]
        return found

    def _plain_object(
        self,
        leaf: PlainLeaf,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        """A plain object field's sub-selection, or Undefined for the generic path (a null,
        an error or an awaitable value; reading the attribute again has no side effect)."""
        try:
            value = getattr(source, leaf.attribute)
        except Exception:
            return Undefined
        if value is None or isinstance(value, Exception) or self.is_awaitable(value):
            return Undefined
        assert leaf.object_type is not None and leaf.field_type is not None
        try:
            completed = self.collect_and_execute_subfields(
                leaf.object_type, field_details_list, path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, leaf.field_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._await_object(completed, leaf, field_details_list, path)
        return completed

    async def _await_object(
        self, completed: Any, leaf: PlainLeaf, field_details_list: FieldDetailsList, path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            assert leaf.field_type is not None
            self.handle_field_error(raw_error, leaf.field_type, field_details_list, path)
            return None

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """A present value of an unchecked object type: its sub-selection, directly."""
        if self.direct_leaves and result is not None and not isinstance(result, Exception):
            object_type = _direct_object(return_type)
            if object_type is not None:
                return self.collect_and_execute_subfields(
                    object_type, field_details_list, path, result, position_context
                )
        return super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """A list or tuple of an unchecked object type, completed in one loop."""
        if self.direct_leaves and type(result) in _SEQUENCES:
            object_type = _direct_object(return_type.of_type)
            if object_type is not None and self.get_stream_usage(field_details_list, path) is None:
                return self._complete_object_list(
                    object_type,
                    return_type.of_type,
                    field_details_list,
                    info,
                    path,
                    result,
                    position_context,
                )
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _complete_object_list(
        self,
        object_type: GraphQLObjectType,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        items: list[Any] | tuple[Any, ...],
        position_context: Any,
    ) -> Any:
        """graphql-core's list completion, with each present item's sub-selection executed
        directly (what `complete_value` does for it); other items take the generic step.
        The sub-selection is collected once for the list (graphql-core memoizes it per
        list anyway) and each item's fields run as `execute_collected_subfields` runs
        them; a selection that defers, or that cannot be collected, takes the generic
        step per item, which reports it as it always did."""
        is_awaitable = self.is_awaitable
        execute_item = self.collect_and_execute_subfields
        direct_fields: GroupedFieldSet | None = None
        try:
            fields, new_defer_usages, _forbidden = self.collect_subfields(
                object_type, field_details_list
            )
            if not new_defer_usages:
                direct_fields = fields
        except Exception:
            pass
        completed: list[Any] = []
        append = completed.append
        awaitable_indices: list[int] = []
        index = 0
        try:
            for index, item in enumerate(items):
                item_path = path.add_key(index, None)
                if item is None or isinstance(item, Exception) or is_awaitable(item):
                    generic = (item_type, field_details_list, info, item_path, position_context)
                    if is_awaitable(item):
                        append(self.complete_awaitable_list_item_value(item, *generic))
                        awaitable_indices.append(index)
                    elif self.complete_list_item_value(item, completed, *generic):
                        awaitable_indices.append(index)
                    continue
                try:
                    if direct_fields is not None:
                        value = self.execute_fields(
                            object_type, item, item_path, direct_fields, None
                        )
                    else:
                        value = execute_item(
                            object_type, field_details_list, item_path, item, position_context
                        )
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                    append(None)
                    continue
                if is_awaitable(value):
                    append(self._await_item(value, item_type, field_details_list, item_path))
                    awaitable_indices.append(index)
                else:
                    append(value)
        except Exception:
            # As the generic path does: settle what was started, and the later items
            # that are awaitables, before the error propagates.
            pending = [completed[i] for i in awaitable_indices]
            pending.extend(item for item in items[index + 1 :] if is_awaitable(item))
            if pending:
                self.settle_in_background(pending)
            raise
        if not awaitable_indices:
            return completed
        return self._await_list(completed, awaitable_indices)

    async def _await_item(
        self,
        completed: Any,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        item_path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, field_details_list, item_path)
            return None

    @staticmethod
    async def _await_list(completed: list[Any], awaitable_indices: list[int]) -> list[Any]:
        if len(awaitable_indices) == 1:
            index = awaitable_indices[0]
            completed[index] = await completed[index]
        else:
            awaited = await gather_with_cancel(*(completed[i] for i in awaitable_indices))
            for index, value in zip(awaitable_indices, awaited, strict=True):
                completed[index] = value
        return completed


_SEQUENCES = frozenset({list, tuple})
_INCREMENTAL_DIRECTIVES = ("defer", "stream")


def _incremental(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDetails],
) -> bool:
    """Whether the operation uses @defer or @stream (only a schema that declares them can
    have validated one: without, no document is walked)."""
    if all(schema.get_directive(name) is None for name in _INCREMENTAL_DIRECTIVES):
        return False
    found = False

    class _Finder(Visitor):
        def enter_directive(self, node: DirectiveNode, *_args: Any) -> Any:
            nonlocal found
            if node.name.value in _INCREMENTAL_DIRECTIVES:
                found = True
                return BREAK
            return None

    for node in (operation, *(details.definition for details in fragments.values())):
        visit(node, _Finder())
    return found


_MIN_INT, _MAX_INT = scalars.GRAPHQL_MIN_INT, scalars.GRAPHQL_MAX_INT

# Values of these exact types are neither errors nor awaitables: no need to ask.
_BUILTIN_VALUES = frozenset({int, float, str, bool})


def _read(leaf: PlainLeaf, source: Any, is_awaitable: Any) -> Any:
    """The serialized value, or Undefined when the generic path must handle the field."""
    try:
        value = getattr(source, leaf.attribute)
        kind = type(value)
        if kind is leaf.exact:
            if kind is float:
                if value - value == 0.0:  # finite: inf - inf and nan are nan
                    return value
            elif kind is int:
                if _MIN_INT <= value <= _MAX_INT:
                    return value
            else:
                return value
        if value is None:
            return None if leaf.nullable else Undefined
        if type(value) not in _BUILTIN_VALUES and (
            isinstance(value, Exception) or is_awaitable(value)
        ):
            return Undefined
        serialized = leaf.serialize(value)
    except Exception:
        return Undefined
    return Undefined if serialized is None else serialized
