"""The account facts a request needs before it can compute any window."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_TIMEZONE = text("SELECT timezone FROM accounts WHERE id = :account_id")


async def account_timezone(session: AsyncSession, account_id: uuid.UUID) -> str | None:
    """The account's IANA time zone, or None when the account does not exist."""
    value: str | None = (
        await session.execute(_TIMEZONE, {"account_id": account_id})
    ).scalar_one_or_none()
    return value
