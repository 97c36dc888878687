"""What code generators and schema linters read: descriptions, @specifiedBy, type names."""

from __future__ import annotations

import pytest
from graphql import GraphQLEnumType, GraphQLObjectType, GraphQLScalarType

from schema.build import schema
from schema.scalars import SCALAR_OVERRIDES

GRAPHQL = schema._schema
OWN_TYPES = {name: t for name, t in GRAPHQL.type_map.items() if not name.startswith("__")}


def test_every_enum_value_and_argument_has_a_description() -> None:
    missing = [
        f"{name}.{value}"
        for name, t in OWN_TYPES.items()
        if isinstance(t, GraphQLEnumType)
        for value, definition in t.values.items()
        if not definition.description
    ]
    missing += [
        f"{name}.{field}({argument})"
        for name, t in OWN_TYPES.items()
        if isinstance(t, GraphQLObjectType)
        for field, definition in t.fields.items()
        for argument, arg in definition.args.items()
        if not arg.description
    ]
    assert missing == []


@pytest.mark.parametrize("name", ["Date", "DateTime"])
def test_date_scalars_say_what_they_follow(name: str) -> None:
    scalar = GRAPHQL.type_map[name]
    assert isinstance(scalar, GraphQLScalarType)
    assert scalar.specified_by_url and scalar.specified_by_url.startswith("https://")
    assert "RFC 3339" in (scalar.description or "")


def test_no_type_reads_as_a_relay_connection_unless_it_is_one() -> None:
    for name, t in OWN_TYPES.items():
        if isinstance(t, GraphQLObjectType) and name.endswith("Connection"):
            assert {"edges", "pageInfo"} <= set(t.fields), name


def test_root_fields_name_every_role_they_allow() -> None:
    for root in (GRAPHQL.query_type,):
        assert root is not None
        for name, field in root.fields.items():
            assert "team_admin only" not in (field.description or ""), name
            assert "team_admin or admin" in (field.description or ""), name


def test_a_date_time_input_needs_an_offset() -> None:
    parse = SCALAR_OVERRIDES[__import__("datetime").datetime].parse_value
    assert parse is not None
    assert parse("2026-03-31T14:05:00Z").tzinfo is not None
    for bad in ("2026-03-31T14:05:00", "yesterday", 5):
        with pytest.raises(Exception, match="DateTime"):
            parse(bad)
