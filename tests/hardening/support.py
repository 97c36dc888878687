"""Helpers of the hardening suite: error codes of a response, and accounts with data."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import AccountBuilder


def codes(body: dict[str, Any]) -> list[str]:
    """The `extensions.code` of every error (a missing code fails the calling test)."""
    return [error["extensions"]["code"] for error in body.get("errors") or []]


@dataclass
class Tenant:
    account: AccountBuilder
    flow_id: uuid.UUID
    session_id: uuid.UUID
    flow_name: str

    @property
    def account_id(self) -> uuid.UUID:
        return self.account.account_id


async def tenant_with_data(sessionmaker: async_sessionmaker[AsyncSession], label: str) -> Tenant:
    """An account with one flow, one resolved session linked to ticket 77, and two pushes."""
    account = await AccountBuilder.create(sessionmaker, name=f"Tenant {label}")
    when = datetime.now(UTC) - timedelta(hours=3)
    name = f"{label} secret flow"
    flow = await account.flow(name, f"{label}-domain", last_matched_at=when, usage_count=1)
    session = await account.session(
        when,
        domain=f"{label}-domain",
        status="resolved",
        tier="guided",
        flow_id=flow,
        confidence=0.9,
        resolved_at=when + timedelta(minutes=20),
        ticket="77",
    )
    await account.activity("time_entry_posted", when, session_id=session, hours=2.0)
    await account.activity("note_posted", when, session_id=session)
    return Tenant(account, flow, session, name)
