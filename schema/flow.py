"""Flow: a troubleshooting flow itself, the same whatever window a query asks about."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from core.metrics.rows import FlowRow


@strawberry.enum(description="Where a non-archived flow is in its life.")
class FlowStatus(Enum):
    DRAFT = strawberry.enum_value(
        "DRAFT", description="Being written: the matcher does not offer it to engineers yet."
    )
    PUBLISHED = strawberry.enum_value(
        "PUBLISHED", description="Offered to engineers by the matcher."
    )

    @classmethod
    def of(cls, stored: str) -> FlowStatus:
        """The stored status (trees.status); only non-archived flows are ever shown."""
        return cls.DRAFT if stored == "draft" else cls.PUBLISHED


@strawberry.type(
    description="A flow (decision tree) itself: the same whatever the period, so a client "
    "cache may keep it by id."
)
class Flow:
    id: strawberry.ID = strawberry.field(description="The flow's id (a UUID).")
    name: str = strawberry.field(description="The flow's name.")
    category: str | None = strawberry.field(description="The flow's category as written.")
    status: FlowStatus = strawberry.field(
        description="DRAFT or PUBLISHED: a draft that was never matched is waiting to be "
        "published, not a flow that went stale."
    )
    total_usage_count: int = strawberry.field(
        description="Lifetime counter kept on the flow (trees.usage_count)."
    )
    last_matched_at: datetime | None = strawberry.field(
        description="When the latest match of a session to this flow was recorded; null "
        "when it was never matched."
    )

    @classmethod
    def from_row(cls, row: FlowRow) -> Flow:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            category=row.category,
            status=FlowStatus.of(row.status),
            total_usage_count=row.usage_count,
            last_matched_at=row.last_matched_at,
        )
