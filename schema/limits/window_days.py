"""How many days a tab root field's window covers, read from the document before it runs.

Daily trends have one point per day of the window, so their cost is the window length:
7, 30 or 90 days for `period`, up to 366 for `range` (and as many again under `previous`).
Anything the estimate cannot read (a bad date, a missing variable) counts as the longest
window: the request is refused later anyway, and the estimate must never be low.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from graphql import FieldNode, GraphQLField, Undefined, value_from_ast_untyped

from schema.ranges import MAX_RANGE_DAYS

PERIOD_DAYS: Mapping[str, int] = {"LAST_7_DAYS": 7, "LAST_30_DAYS": 30, "LAST_90_DAYS": 90}
LONGEST = MAX_RANGE_DAYS


def _argument(
    node: FieldNode, definition: GraphQLField, name: str, variables: Mapping[str, Any]
) -> Any:
    """The argument's value: sent (literal or variable), else the schema's default."""
    for argument in node.arguments or ():
        if argument.name.value == name:
            value = value_from_ast_untyped(argument.value, dict(variables))
            if value is not Undefined:  # an unsent variable: the default applies
                return value
    declared = definition.args.get(name)
    if declared is None or declared.default_value is Undefined:
        return None
    return declared.default_value


def _range_days(value: Any) -> int:
    if not isinstance(value, Mapping):
        return LONGEST
    try:
        first = date.fromisoformat(str(value.get("from")))
        last = date.fromisoformat(str(value.get("to")))
    except ValueError:
        return LONGEST
    return min(max((last - first).days + 1, 1), LONGEST)


def window_days(
    node: FieldNode, definition: GraphQLField, variables: Mapping[str, Any]
) -> int | None:
    """The window of a root field taking `period`/`range`, else None (no window here)."""
    if "period" not in definition.args and "range" not in definition.args:
        return None
    range_ = _argument(node, definition, "range", variables)
    if range_ is not None:
        return _range_days(range_)
    period = _argument(node, definition, "period", variables)
    name = getattr(period, "name", period)  # the schema's default is the Python enum
    return PERIOD_DAYS.get(name, LONGEST) if isinstance(name, str) else LONGEST
