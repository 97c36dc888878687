"""Enums of the contract, with the facts the resolvers need attached."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

import strawberry
from strawberry.types.enum import has_enum_definition

from core.metrics.flow_ranking import FlowSort as FlowSort
from core.metrics.formulas import Tier as Tier

E = TypeVar("E", bound=Enum)


@strawberry.enum(description="The last N calendar days in the account's time zone, today included.")
class Period(Enum):
    LAST_7_DAYS = strawberry.enum_value("LAST_7_DAYS", description="Today and the 6 days before.")
    LAST_30_DAYS = strawberry.enum_value(
        "LAST_30_DAYS", description="Today and the 29 days before (the default)."
    )
    LAST_90_DAYS = strawberry.enum_value(
        "LAST_90_DAYS", description="Today and the 89 days before."
    )

    @property
    def days(self) -> int:
        return {"LAST_7_DAYS": 7, "LAST_30_DAYS": 30, "LAST_90_DAYS": 90}[self.name]


# The metric enums are the bottom layer's own (core has no strawberry): each is exposed
# here under its class name, with a description for the type and for every value.
def _expose(enum: type[E], description: str, values: Mapping[E, str]) -> None:
    exposed = strawberry.enum(enum, description=description)
    assert has_enum_definition(exposed)
    for value in exposed.__strawberry_definition__.values:
        value.description = values[enum[value.name]]


_expose(
    FlowSort,
    "What the Flow Quality table is ordered by.",
    {
        FlowSort.QUALITY: "By qualityScore (success, guided and recency combined).",
        FlowSort.USAGE: "By usageCount in the period.",
        FlowSort.SUCCESS_RATE: "By successRate in the period.",
    },
)
_expose(
    Tier,
    "Heatmap cell colour: GOOD = green, WARNING = amber, CRITICAL = red.",
    {
        Tier.GOOD: "Green (thresholds in docs/metrics.md).",
        Tier.WARNING: "Amber: between green and red.",
        Tier.CRITICAL: "Red: needs action.",
    },
)


@strawberry.enum(description="Ascending or descending order.")
class SortDirection(Enum):
    ASC = strawberry.enum_value("ASC", description="Smallest first.")
    DESC = strawberry.enum_value("DESC", description="Largest first.")


@strawberry.enum(description="Why a flow is flagged as needing attention.")
class AttentionReason(Enum):
    LOW_SUCCESS_RATE = strawberry.enum_value(
        "LOW_SUCCESS_RATE", description="Success rate in the period is below 50%."
    )
    STALE = strawberry.enum_value(
        "STALE", description="Never matched, or last matched 30 or more days ago."
    )


@strawberry.enum(description="The kinds of push FlowPilot makes to the PSA.")
class PsaActivityType(Enum):
    TIME_ENTRY_POSTED = strawberry.enum_value(
        "TIME_ENTRY_POSTED", description="A time entry logged on the session's ticket."
    )
    NOTE_POSTED = strawberry.enum_value(
        "NOTE_POSTED", description="A note (documentation) added to the session's ticket."
    )
    STATUS_UPDATED = strawberry.enum_value(
        "STATUS_UPDATED", description="The ticket's status changed."
    )
