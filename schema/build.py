"""Assemble the executable schema: types, root guard and extensions."""

from __future__ import annotations

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig

from schema.access import guard_root_fields
from schema.mutation import Mutation
from schema.query import Query

guard_root_fields(Query)
# Every mutation names its roles; one that forgets is closed to all but admins.
guard_root_fields(Mutation, frozenset({"admin"}))


def build_schema(extensions: list[type[SchemaExtension]] | None = None) -> strawberry.Schema:
    """A schema with the given extensions (classes, so each request gets fresh instances)."""
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=list(extensions or []),
        config=StrawberryConfig(auto_camel_case=True),
    )


schema = build_schema()
