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

from persistence.engine import create_engine, create_sessionmaker
from persistence.rollups import rebuild_account, rebuild_all
from service.cli_commands import prepare_embedded
from service.cli_database import probe, require_head, resolve_target


async def rebuild(url: str, account: uuid.UUID | None) -> int:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        sessionmaker = create_sessionmaker(engine)
        if account is not None:
            await rebuild_account(sessionmaker, account)
            return 1
        return await rebuild_all(sessionmaker)
    finally:
        await engine.dispose()


def cmd_rebuild_rollups(args: argparse.Namespace) -> int:
    target = resolve_target()
    asyncio.run(probe(target.url))
    if target.embedded:
        prepare_embedded(target)
    else:
        asyncio.run(require_head(target.url))
    started = time.perf_counter()
    accounts = asyncio.run(rebuild(target.url, args.account))
    elapsed = time.perf_counter() - started
    print(f"rollups rebuilt: {accounts} accounts in {elapsed:.3f} s", file=sys.stderr)
    return 0
