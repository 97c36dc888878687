"""Date and DateTime with `@specifiedBy`, so code generators and clients know their format.

Strawberry's built-ins serialize `isoformat()`; these are the same scalars with the
GraphQL Scalars specifications they follow (RFC 3339 full-date; RFC 3339 date-time with
an offset). A DateTime input without an offset is refused: the spec requires one and a
local time would be ambiguous.
"""

from __future__ import annotations

import datetime as dt

import dateutil.parser
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

DATE_SPEC = "https://scalars.graphql.org/andimarek/local-date.html"
DATE_TIME_SPEC = "https://scalars.graphql.org/andimarek/date-time.html"


def _parse_date(value: object) -> dt.date:
    if not isinstance(value, str) or len(value) != 10:
        raise StrawberryInputCoercionError(f'Value cannot represent a Date: "{value}".')
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise StrawberryInputCoercionError(f'Value cannot represent a Date: "{value}".') from None


def _parse_date_time(value: object) -> dt.datetime:
    message = f'Value cannot represent a DateTime: "{value}". Expected RFC 3339 with an offset.'
    if not isinstance(value, str):
        raise StrawberryInputCoercionError(message)
    try:
        parsed: dt.datetime = dateutil.parser.isoparse(value)
    except ValueError:
        raise StrawberryInputCoercionError(message) from None
    if parsed.tzinfo is None:
        raise StrawberryInputCoercionError(message)
    return parsed


SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {
    dt.date: ScalarDefinition(
        name="Date",
        description="A calendar day, RFC 3339 full-date (2026-03-31).",
        specified_by_url=DATE_SPEC,
        serialize=DateDefinition.serialize,
        parse_value=_parse_date,
        parse_literal=None,
        origin=dt.date,
    ),
    dt.datetime: ScalarDefinition(
        name="DateTime",
        description="An instant, RFC 3339 date-time with an offset "
        "(2026-03-31T14:05:00.123456+00:00).",
        specified_by_url=DATE_TIME_SPEC,
        serialize=DateTimeDefinition.serialize,
        parse_value=_parse_date_time,
        parse_literal=None,
        origin=dt.datetime,
    ),
}
