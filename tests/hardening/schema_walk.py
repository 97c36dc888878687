"""Build a call of every root field from the served schema, filling each argument."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
)

SCALARS: dict[str, Any] = {
    "Int": 1,
    "Float": 1.5,
    "Boolean": False,
    "Date": "2024-01-01",
    "DateTime": "2024-01-01T00:00:00+00:00",
}


def fill(type_: GraphQLInputType, text: str, ids: dict[str, str]) -> Any:
    """A value of `type_`: `text` in every String, `ids` by field name in ID fields."""
    if isinstance(type_, GraphQLNonNull):
        return fill(type_.of_type, text, ids)
    if isinstance(type_, GraphQLList):
        return [fill(type_.of_type, text, ids)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            name: fill(field.type, text, {**ids, "_field": name})
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) or _is_text(field.type)
        }
    assert isinstance(type_, GraphQLScalarType)
    if type_.name == "ID":
        return ids.get(ids.get("_field", ""), text)
    if type_.name == "String":
        return text
    return SCALARS.get(type_.name, text)


def _is_text(type_: GraphQLInputType) -> bool:
    return isinstance(type_, GraphQLScalarType) and type_.name in {"String", "ID"}


def root_calls(
    schema: GraphQLSchema, text: str, ids: dict[str, str] | None = None
) -> dict[str, tuple[str, dict[str, Any]]]:
    """For every root field: a document selecting `__typename` and its variables.

    Optional arguments are passed only when they are strings or ids (so `text` reaches
    every text argument); required ones always."""
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    for operation, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        if root is None:
            continue
        for name, field in root.fields.items():
            args = {
                arg: spec
                for arg, spec in field.args.items()
                if isinstance(spec.type, GraphQLNonNull) or _is_text(spec.type)
            }
            definitions = ", ".join(f"${arg}: {spec.type}" for arg, spec in args.items())
            passing = ", ".join(f"{arg}: ${arg}" for arg in args)
            header = f"{operation} Call({definitions})" if args else f"{operation} Call"
            call = f"{name}({passing})" if args else name
            document = f"{header} {{ {call} {{ __typename }} }}"
            variables = {
                arg: fill(spec.type, text, {**(ids or {}), "_field": arg})
                for arg, spec in args.items()
            }
            calls[f"{operation}.{name}"] = (document, variables)
    return calls
