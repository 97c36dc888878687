"""What the current field's sub-selection asks for, so a list loads only what it needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from resolvers.context import Info


def _names(selections: list[Any]) -> Iterator[str]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection.name
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _names(selection.selections)


def selects_any(info: Info, names: frozenset[str]) -> bool:
    """Whether the current field's sub-selection asks for any of `names` (camelCase)."""
    return any(name in names for field in info.selected_fields for name in _names(field.selections))
