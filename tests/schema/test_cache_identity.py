"""Normalizing client caches (Apollo, urql, Relay) merge objects by `__typename` and `id`:
only types that are the same in every window may have one."""

from __future__ import annotations

from graphql import GraphQLObjectType

from schema.build import schema

# Types a client cache may keep by id: what they say does not depend on any window. An
# evidence session or push is a stored row as it is now (what a count's window selects is
# only which rows are listed).
ENTITIES = {"Flow", "EvidenceSession", "EvidencePush"}
IDENTITY_FIELDS = {"id", "_id"}


def _object_types() -> dict[str, GraphQLObjectType]:
    return {
        name: graphql_type
        for name, graphql_type in schema._schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType) and not name.startswith("__")
    }


def test_only_window_independent_types_have_an_id() -> None:
    with_id = {
        name
        for name, graphql_type in _object_types().items()
        if IDENTITY_FIELDS & set(graphql_type.fields)
    }
    assert with_id == ENTITIES


def test_entities_take_no_arguments_and_hold_no_window_figures() -> None:
    for name in ENTITIES:
        graphql_type = _object_types()[name]
        assert all(not field.args for field in graphql_type.fields.values()), name
    assert set(_object_types()["Flow"].fields) == {
        "id",
        "name",
        "category",
        "status",
        "totalUsageCount",
        "lastMatchedAt",
    }
