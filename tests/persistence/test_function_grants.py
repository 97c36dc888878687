"""The SECURITY DEFINER account-id look-ups are not executable by PUBLIC."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.engine import create_engine
from persistence.operations import migrate
from persistence.operations.roles import ACCOUNT_ID_FUNCTIONS, drop_app_role, ensure_app_role


@pytest.fixture
async def roles(engine: AsyncEngine) -> AsyncIterator[tuple[str, str]]:
    """(an application role, a plain login role with no grants at all)."""
    app, nobody = (f"fp_{kind}_{uuid.uuid4().hex[:10]}" for kind in ("app", "nobody"))
    async with engine.begin() as connection:
        await ensure_app_role(connection, app, None)
        await connection.execute(text(f"CREATE ROLE {nobody} LOGIN"))
    yield app, nobody
    async with engine.begin() as connection:
        await drop_app_role(connection, app)
        await connection.execute(text(f"DROP ROLE {nobody}"))


@pytest.mark.parametrize("function", ACCOUNT_ID_FUNCTIONS)
async def test_only_granted_roles_may_list_account_ids(
    engine: AsyncEngine, roles: tuple[str, str], function: str
) -> None:
    app, nobody = roles
    async with engine.connect() as connection:
        allowed = text("SELECT has_function_privilege(:role, :function, 'EXECUTE')")
        assert (await connection.execute(allowed, {"role": app, "function": function})).scalar()
        assert not (
            await connection.execute(allowed, {"role": nobody, "function": function})
        ).scalar()
    for role, may in ((app, True), (nobody, False)):
        async with engine.connect() as connection:
            await connection.execute(text(f"SET ROLE {role}"))
            if may:
                await connection.execute(text(f"SELECT * FROM {function}"))
            else:
                with pytest.raises(DBAPIError, match="permission denied"):
                    await connection.execute(text(f"SELECT * FROM {function}"))
            await connection.rollback()


async def test_upgrade_keeps_the_look_ups_for_existing_app_roles(empty_database_url: str) -> None:
    """A role made by create-app-role before 0007 may still call them after the upgrade."""
    fresh = create_engine(empty_database_url, pool_size=1, max_overflow=0)
    role = f"fp_app_{uuid.uuid4().hex[:10]}"
    try:
        async with fresh.begin() as connection:
            await migrate.upgrade(connection, "0006_flow_name_order_index")
            await ensure_app_role(connection, role, None)
            await connection.execute(
                text(f"REVOKE EXECUTE ON FUNCTION {ACCOUNT_ID_FUNCTIONS[0]} FROM {role}")
            )
        async with fresh.begin() as connection:
            await migrate.upgrade(connection, "head")
        async with fresh.connect() as connection:
            for function in ACCOUNT_ID_FUNCTIONS:
                for grantee, expected in ((role, True), ("public", False)):
                    query = (
                        "SELECT has_function_privilege(:role, :function, 'EXECUTE')"
                        if grantee != "public"
                        else "SELECT coalesce(bool_or(a.grantee = 0), false) FROM pg_proc p, "
                        "aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a "
                        "WHERE p.oid = to_regprocedure(:function)"
                    )
                    params = {"role": grantee, "function": function}
                    assert (await connection.execute(text(query), params)).scalar() is expected
        async with fresh.begin() as connection:
            await drop_app_role(connection, role)
    finally:
        await fresh.dispose()
