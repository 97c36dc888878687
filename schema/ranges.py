"""Custom date ranges: the `range` argument of the tab root fields, and how a window is chosen.

`period` has a contract default, so "range and period are exclusive" means: `range`
together with a `period` the client actually wrote (as a literal, or as a variable that
has a value) is refused. A document serving both can declare `$period: Period` without
a default and send only one of the two variables.
"""

from __future__ import annotations

import datetime
from typing import Any

import strawberry
from graphql import VariableNode

from core.errors import BadUserInput
from core.metrics.window import Window, last_days, local_today
from resolvers.context import Info
from schema.enums import Period

MAX_RANGE_DAYS = 366
# Far before any FlowPilot data; keeps the previous window of any range representable.
EARLIEST_DAY = datetime.date(1970, 1, 1)


@strawberry.input(
    description="Local calendar days of the account, both inclusive: at most 366 days, "
    "`from` not after `to`, `to` not after the account's today."
)
class DateRangeInput:
    from_: datetime.date = strawberry.field(name="from", description="The first day, inclusive.")
    to: datetime.date = strawberry.field(description="The last day, inclusive.")


def period_given(info: Info, name: str = "period") -> bool:
    """Whether the client wrote the argument, rather than the schema defaulting it."""
    raw: Any = info._raw_info
    for node in raw.field_nodes:
        for argument in node.arguments:
            if argument.name.value != name:
                continue
            if isinstance(argument.value, VariableNode):
                return argument.value.name.value in raw.variable_values
            return True
    return False


def range_window(date_range: DateRangeInput, timezone: str, now: datetime.datetime) -> Window:
    """The window of `date_range`, or BadUserInput saying which rule it breaks."""
    first, last = date_range.from_, date_range.to
    if first > last:
        raise BadUserInput("range.from must not be after range.to", argument="range")
    days = (last - first).days + 1
    if days > MAX_RANGE_DAYS:
        raise BadUserInput(
            f"range covers {days} days; at most {MAX_RANGE_DAYS} are allowed", argument="range"
        )
    today = local_today(now, timezone)
    if last > today:
        raise BadUserInput(
            f"range.to must not be after today ({today.isoformat()} in {timezone})",
            argument="range",
        )
    if first < EARLIEST_DAY:
        raise BadUserInput(
            f"range.from must not be before {EARLIEST_DAY.isoformat()}", argument="range"
        )
    return Window(first, last, timezone, now)


async def resolve_window(info: Info, period: Period, date_range: DateRangeInput | None) -> Window:
    """The tab's window: the custom range when given, else the period, in the account's zone."""
    if date_range is not None and period_given(info):
        raise BadUserInput("give either period or range, not both", argument="range")
    context = info.context
    # The request's snapshot belongs to the caller's account (unauthenticated: refused).
    timezone = await context.loaders.snapshot.timezone()
    if date_range is not None:
        return range_window(date_range, timezone, context.now)
    return last_days(period.days, timezone, context.now)
