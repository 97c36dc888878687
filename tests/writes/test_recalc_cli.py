"""`python main.py recalc-success-rates` recalculates on demand."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.engine import create_engine, create_sessionmaker
from service.cli.main import main
from tests.factories import AccountBuilder
from tests.writes.test_success_rates import rates


async def read_rates(url: str, account: uuid.UUID) -> dict[uuid.UUID, float | None]:
    """On a loop and engine of its own (the CLI ran its own `asyncio.run`)."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        return await rates(create_sessionmaker(engine), account)
    finally:
        await engine.dispose()


@pytest.fixture
async def flow_with_sessions(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> tuple[uuid.UUID, uuid.UUID]:
    acct = await AccountBuilder.create(sessionmaker)
    flow = await acct.flow("CLI", "cli")
    for status in ("resolved", "escalated", "escalated", "escalated", "resolved"):
        await acct.session(datetime.now(UTC) - timedelta(days=3), flow_id=flow, status=status)
    return acct.account_id, flow


def test_cli_recalculates_success_rates(
    database_url: str,
    flow_with_sessions: tuple[uuid.UUID, uuid.UUID],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("AUTH_JWT_SECRET", "cli-test-secret-0123456789-abcdefghij")
    assert main(["recalc-success-rates"]) == 0
    assert "success rates recalculated:" in capsys.readouterr().err
    account, flow = flow_with_sessions
    assert asyncio.run(read_rates(database_url, account)) == {flow: 2 / 5}
