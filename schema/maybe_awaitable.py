"""Resolvers that answer at once when the value is already known, and load it otherwise.

An `async def` resolver costs a coroutine and a task per object even when its value is
in hand; for lists of hundreds of domains or flows that is most of a response's time.
These resolvers are plain functions that return either the value or an awaitable
(graphql-core awaits what it is given), declared with `graphql_type=` for the schema.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeAlias, TypeVar

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from resolvers.context import Info

T = TypeVar("T")
U = TypeVar("U")

MaybeAwaitable: TypeAlias = T | Awaitable[T]


def then(
    known: T | None, load: Callable[[], Awaitable[T]], pick: Callable[[T], U]
) -> U | Awaitable[U]:
    """`pick(known)` now when `known` is there, else an awaitable that loads it first."""
    if known is not None:
        return pick(known)
    return _after(load, pick)


async def _after(load: Callable[[], Awaitable[T]], pick: Callable[[T], U]) -> U:
    return pick(await load())


def _names(selections: list[Any]) -> Iterator[str]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection.name
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _names(selection.selections)


def selects_any(info: Info, names: frozenset[str]) -> bool:
    """Whether the current field's sub-selection asks for any of `names` (camelCase)."""
    return any(name in names for field in info.selected_fields for name in _names(field.selections))
