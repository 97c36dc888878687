"""What every tab type shares: the period asked for, the window it resolved to, and the
comparison asked for; `from` and `to` tell the client the local days actually covered,
`asOf` the instant the numbers were computed for."""

from __future__ import annotations

import datetime

import strawberry

from core.metrics.window import Window
from resolvers.context import Info
from schema.comparison import ComparisonPeriod
from schema.enums import Period


@strawberry.type(description="A tab's reporting window.")
class TabWindow:
    period: Period = strawberry.field(
        description="The period these numbers cover (the period argument; with `range`, "
        "read `from` and `to` instead)."
    )
    window: strawberry.Private[Window]
    compare: strawberry.Private[ComparisonPeriod | None] = None

    @strawberry.field(name="from", description="The first local day covered, inclusive.")
    def from_(self) -> datetime.date:
        return self.window.first_day

    @strawberry.field(description="The last local day covered, inclusive.")
    def to(self) -> datetime.date:
        return self.window.last_day

    @strawberry.field(
        description="The instant these numbers were computed for: recency is measured from "
        "it, and every number of the response comes from one snapshot of the database "
        "taken as the request began."
    )
    def as_of(self, info: Info) -> datetime.datetime:
        return info.context.now
