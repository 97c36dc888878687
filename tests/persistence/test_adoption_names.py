"""The adoption's check knows every table, sequence and function the analytics create, so a
product database that already has one of those names is refused before any change."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.operations.product_schema import ANALYTICS_FUNCTIONS, ANALYTICS_RELATIONS

PRODUCT_TABLES = {"accounts", "users", "trees", "ai_sessions"}
BOOKKEEPING = {"alembic_version", "analytics_adoption"}


async def test_every_analytics_table_sequence_and_function_is_checked(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        relations = set(
            (
                await connection.execute(
                    text(
                        "SELECT relname FROM pg_class WHERE relnamespace = "
                        "'public'::regnamespace AND relkind IN ('r', 'p', 'S')"
                    )
                )
            ).scalars()
        )
        functions = set(
            (
                await connection.execute(
                    text(
                        "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
                        "AND prorettype <> 'trigger'::regtype"
                    )
                )
            ).scalars()
        )
    assert relations - PRODUCT_TABLES - BOOKKEEPING <= set(ANALYTICS_RELATIONS)
    assert functions <= set(ANALYTICS_FUNCTIONS)
    assert "account_data_versions" in relations  # the database is at the head revision
