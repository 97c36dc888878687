"""Builders of fixture data: each test makes its own accounts, so tests never collide."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.models import Account, AiSession, PsaActivityLog, Tree, User
from persistence.tenancy import account_transaction


@dataclass
class AccountBuilder:
    """Inserts rows for one account; every method returns the new row's id."""

    sessionmaker: async_sessionmaker[AsyncSession]
    account_id: uuid.UUID

    @classmethod
    async def create(
        cls,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        timezone: str = "UTC",
        name: str = "Test MSP",
    ) -> AccountBuilder:
        builder = cls(sessionmaker, uuid.uuid4())
        await builder._insert(
            Account, {"id": builder.account_id, "name": name, "timezone": timezone}
        )
        return builder

    async def _insert(self, model: type[Any], values: dict[str, Any]) -> uuid.UUID:
        values = {"id": uuid.uuid4(), **values}
        async with account_transaction(self.sessionmaker, self.account_id) as session:
            await session.execute(insert(model).values(**values))
        row_id: uuid.UUID = values["id"]
        return row_id

    async def user(self, role: str = "team_admin", email: str | None = None) -> uuid.UUID:
        return await self._insert(
            User,
            {
                "account_id": self.account_id,
                "email": email or f"{uuid.uuid4().hex[:8]}@example.com",
                "role": role,
            },
        )

    async def flow(
        self,
        name: str,
        category: str | None = None,
        *,
        status: str = "published",
        usage_count: int = 0,
        last_matched_at: datetime | None = None,
        success_rate: float | None = None,
        flow_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        return await self._insert(
            Tree,
            {
                "id": flow_id or uuid.uuid4(),
                "account_id": self.account_id,
                "name": name,
                "category": category,
                "status": status,
                "usage_count": usage_count,
                "last_matched_at": last_matched_at,
                "success_rate": success_rate,
            },
        )

    async def session(
        self,
        started_at: datetime,
        *,
        domain: str | None = None,
        status: str = "active",
        tier: str | None = None,
        flow_id: uuid.UUID | None = None,
        confidence: float | None = None,
        resolved_at: datetime | None = None,
        rating: int | None = None,
        ticket: str | None = None,
        session_type: str = "flowpilot",
        user_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        return await self._insert(
            AiSession,
            {
                "account_id": self.account_id,
                "user_id": user_id,
                "session_type": session_type,
                "problem_domain": domain,
                "status": status,
                "confidence_tier": tier,
                "matched_flow_id": flow_id,
                "match_confidence": confidence,
                "started_at": started_at,
                "resolved_at": resolved_at,
                "rating": rating,
                "psa_ticket_id": ticket,
            },
        )

    async def activity(
        self,
        activity_type: str,
        created_at: datetime,
        *,
        session_id: uuid.UUID | None = None,
        hours: float | None = None,
        ticket: str = "1001",
        external_id: str | None = None,
    ) -> uuid.UUID:
        return await self._insert(
            PsaActivityLog,
            {
                "account_id": self.account_id,
                "session_id": session_id,
                "activity_type": activity_type,
                "hours_logged": hours,
                "psa_ticket_id": ticket,
                "external_id": external_id or uuid.uuid4().hex,
                "created_at": created_at,
            },
        )
