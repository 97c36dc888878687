"""What every tab type shares: the period asked for, the window it resolved to, and the
comparison asked for; `from` and `to` tell the client the local days actually covered,
`asOf` the instant the numbers were computed for, and the comparability fields how far
a change between two windows is a like-for-like one (METRICS.md, "Fair comparisons")."""

from __future__ import annotations

import datetime

import strawberry

from core.metrics.comparability import last_day_in_progress, share_before_data
from core.metrics.window import Window
from resolvers.context import Info
from resolvers.dataloaders.first_day import ACCOUNT
from schema.comparison import ComparisonPeriod, comparison_window
from schema.enums import Period


async def _first_data_day(info: Info) -> datetime.date | None:
    return await info.context.loaders.first_data_day.load(ACCOUNT)


@strawberry.type(
    description="The window a tab's changes are computed against, and how much of it the "
    "account's data covers."
)
class ComparisonWindow:
    window: strawberry.Private[Window]

    @strawberry.field(name="from", description="The comparison window's first local day.")
    def from_(self) -> datetime.date:
        return self.window.first_day

    @strawberry.field(description="The comparison window's last local day.")
    def to(self) -> datetime.date:
        return self.window.last_day

    @strawberry.field(
        description="The share (0 to 1) of the comparison window's days before the "
        "account's first data day (dataStartsOn); above 0, the previous numbers cover "
        "fewer days than the window and a change is not like for like."
    )
    async def share_before_data(self, info: Info) -> float:
        return float(share_before_data(self.window, await _first_data_day(info)))


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

    @strawberry.field(
        description="The IANA time zone whose calendar days the window counts (the "
        "account's; UTC when the account's zone is unknown)."
    )
    def time_zone(self) -> str:
        return self.window.zone.key

    @strawberry.field(
        description="True when the window's last day (`to`) has not ended at `asOf`: its "
        "numbers hold only part of that day."
    )
    def last_day_in_progress(self) -> bool:
        return last_day_in_progress(self.window)

    @strawberry.field(
        description="The account's first data day: the local day of its earliest FlowPilot "
        "session; null when it has none."
    )
    async def data_starts_on(self, info: Info) -> datetime.date | None:
        return await _first_data_day(info)

    @strawberry.field(
        description="The share (0 to 1) of the window's days before dataStartsOn (1 when "
        "the account has no sessions)."
    )
    async def share_before_data(self, info: Info) -> float:
        return float(share_before_data(self.window, await _first_data_day(info)))

    @strawberry.field(
        description="The window the changes compare with (its days and data coverage); "
        "null unless compareTo is given."
    )
    def previous_window(self) -> ComparisonWindow | None:
        earlier = comparison_window(self.window, self.compare)
        return None if earlier is None else ComparisonWindow(window=earlier)
