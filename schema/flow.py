"""Flow: a troubleshooting flow itself, the same whatever window a query asks about."""

from __future__ import annotations

from datetime import datetime

import strawberry

from core.metrics.rows import FlowRow


@strawberry.type(
    description="A flow (decision tree) itself: the same whatever the period, so a client "
    "cache may keep it by id."
)
class Flow:
    id: strawberry.ID = strawberry.field(description="The flow's id (a UUID).")
    name: str = strawberry.field(description="The flow's name.")
    category: str | None = strawberry.field(description="The flow's category as written.")
    total_usage_count: int = strawberry.field(
        description="Lifetime counter kept on the flow (trees.usage_count)."
    )
    last_matched_at: datetime | None = strawberry.field(
        description="When the latest match of a session to this flow was recorded."
    )

    @classmethod
    def from_row(cls, row: FlowRow) -> Flow:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            category=row.category,
            total_usage_count=row.usage_count,
            last_matched_at=row.last_matched_at,
        )
