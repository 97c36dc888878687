"""Assemble the executable schema: types, root guard and extensions."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig

from core.settings import Settings
from schema.access import guard_root_fields
from schema.execution_fence import execution_context_class
from schema.limits import limit_extensions
from schema.limits.budget import BudgetRegistry
from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import SCALAR_OVERRIDES
from schema.snapshot_scope import CloseSnapshot

guard_root_fields(Query)
# Every mutation names its roles; one that forgets is closed to all but admins.
guard_root_fields(Mutation, frozenset({"admin"}))


def build_schema(
    extensions: Sequence[Callable[[], SchemaExtension]] | None = None,
    *,
    lean: bool = True,
) -> strawberry.Schema:
    """A schema with the given extensions (classes or factories, so each request gets fresh
    instances); every operation's read snapshot ends with the operation. `lean`: plain
    fields read by the lean executor where its versions match (schema/execution_fence.py)."""
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=[CloseSnapshot, *(extensions or [])],
        config=StrawberryConfig(auto_camel_case=True, disable_field_suggestions=True),
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=execution_context_class(lean),
    )


def build_schema_for(
    settings: Settings,
    extensions: Sequence[Callable[[], SchemaExtension]] = (),
    budget: BudgetRegistry | None = None,
) -> strawberry.Schema:
    """The served schema: the limits `settings` asks for (charging `budget` when given),
    then `extensions`."""
    return build_schema(
        [*limit_extensions(settings, budget), *extensions], lean=settings.lean_execution
    )


schema = build_schema()
