"""`python main.py rebuild-rollups`: recompute the analytics rollups from the raw tables.

Triggers keep the rollups exact on every write; run this after a bulk load made with
triggers disabled, or to repair. One account (`--account`) or all, each in its own
transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid

from persistence.engine import create_sessionmaker
from persistence.rollups import rebuild_account, rebuild_all
from service.cli_migrate import database_at_head


async def rebuild(account: uuid.UUID | None) -> tuple[int, float]:
    """(accounts rebuilt, seconds the rebuild took)."""
    async with database_at_head() as engine:
        sessionmaker = create_sessionmaker(engine)
        started = time.perf_counter()
        if account is None:
            accounts = await rebuild_all(sessionmaker)
        else:
            await rebuild_account(sessionmaker, account)
            accounts = 1
    return accounts, time.perf_counter() - started


def cmd_rebuild_rollups(args: argparse.Namespace) -> int:
    accounts, elapsed = asyncio.run(rebuild(args.account))
    print(f"rollups rebuilt: {accounts} accounts in {elapsed:.3f} s", file=sys.stderr)
    return 0
