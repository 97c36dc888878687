"""The statement that binds a snapshot to its account also reads the account's time zone,
and reads it under the binding: as the unprivileged app role, row-level security shows
the account row only once the binding is set."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.reader import Reader
from persistence.snapshot import ReadSnapshot
from tests.tabs.support import new_tenant


async def _visible_accounts(reader: Reader) -> int:
    row = await reader.row("SELECT count(*) FROM accounts", {})
    assert row is not None
    return int(row[0])


async def test_the_binding_reads_the_accounts_zone_under_row_level_security(
    sessionmaker: async_sessionmaker[AsyncSession],
    role_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    zones = ["Pacific/Kiritimati", "America/New_York", "Pacific/Kiritimati"]
    tenants = [await new_tenant(sessionmaker, timezone=zone) for zone in zones[:2]]
    # One after another on the pooled connection: each later snapshot opens where an
    # earlier one's binding has ended (the setting is then empty, not unset).
    for zone, tenant in zip(zones, [*tenants, tenants[0]], strict=True):
        snapshot = ReadSnapshot(role_sessionmaker, tenant.account_id)
        try:
            assert await snapshot.timezone() == zone
            # The binding holds for the snapshot's later statements: one account visible.
            assert await snapshot.read(_visible_accounts) == 1
            assert await snapshot.timezone() == zone
        finally:
            await snapshot.close()


async def test_an_unknown_account_reads_utc_and_sees_nothing(
    role_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    snapshot = ReadSnapshot(role_sessionmaker, uuid.uuid4())
    try:
        assert await snapshot.timezone() == "UTC"
        assert await snapshot.read(_visible_accounts) == 0
    finally:
        await snapshot.close()
