"""A role that writes the product's tables as the product's own services do, bound by
row-level security like the API's: the API's role plus the product's writes.

The API's role may not insert or delete sessions, flows or accounts (only the product
does); tests that play the product's part grant these on top of `ensure_app_role`'s.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

PRODUCT_WRITES = ("accounts", "users", "trees", "ai_sessions", "psa_activity_log")


async def grant_product_writes(connection: AsyncConnection, role: str) -> None:
    tables = ", ".join(f"public.{table}" for table in PRODUCT_WRITES)
    await connection.execute(text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO "{role}"'))
