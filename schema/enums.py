"""Enums of the contract, with the facts the resolvers need attached."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="The last N calendar days in the account's time zone, today included.")
class Period(Enum):
    LAST_7_DAYS = "LAST_7_DAYS"
    LAST_30_DAYS = "LAST_30_DAYS"
    LAST_90_DAYS = "LAST_90_DAYS"

    @property
    def days(self) -> int:
        return {"LAST_7_DAYS": 7, "LAST_30_DAYS": 30, "LAST_90_DAYS": 90}[self.value]


@strawberry.enum(description="What the Flow Quality table is ordered by.")
class FlowSort(Enum):
    QUALITY = "QUALITY"
    USAGE = "USAGE"
    SUCCESS_RATE = "SUCCESS_RATE"


@strawberry.enum(description="Ascending or descending order.")
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum(description="Heatmap cell colour: GOOD = green, WARNING = amber, CRITICAL = red.")
class Tier(Enum):
    GOOD = "GOOD"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


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
    TIME_ENTRY_POSTED = "TIME_ENTRY_POSTED"
    NOTE_POSTED = "NOTE_POSTED"
    STATUS_UPDATED = "STATUS_UPDATED"
