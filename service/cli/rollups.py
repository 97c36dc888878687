"""`python main.py rebuild-rollups`: recompute the analytics rollups from the raw tables.

Triggers keep the rollups exact on every write; run this after a bulk load made with
triggers disabled, or to repair. One account (`--account`) or all, each in chunks of
`--chunk` sessions (one short transaction each, the longest a product write waits),
paced by ROLLUP_BUILD_DUTY_CYCLE. Builds left unfinished (a time-zone change, an
interrupted run) are finished first.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid

from persistence.engine import create_sessionmaker
from persistence.rollups import Build, finish_started_builds, rebuild_account, rebuild_all
from service.cli.migrate import build_pacing, database_at_head


async def rebuild(account: uuid.UUID | None, chunk: int) -> tuple[int, float, float]:
    """(accounts rebuilt, seconds the rebuild took, the longest chunk in seconds)."""
    builds: list[Build] = []
    pacing = build_pacing()
    async with database_at_head() as engine:
        sessionmaker = create_sessionmaker(engine)
        started = time.perf_counter()
        builds.extend(await finish_started_builds(sessionmaker, chunk, pacing))
        if account is None:
            accounts = await rebuild_all(sessionmaker, chunk, builds.append, pacing)
        else:
            builds.append(await rebuild_account(sessionmaker, account, chunk, pacing))
            accounts = 1
    longest = max((build.longest_chunk_s for build in builds), default=0.0)
    return accounts, time.perf_counter() - started, longest


def cmd_rebuild_rollups(args: argparse.Namespace) -> int:
    accounts, elapsed, longest = asyncio.run(rebuild(args.account, args.chunk))
    print(
        f"rollups rebuilt: {accounts} accounts in {elapsed:.3f} s (longest chunk {longest:.3f} s)",
        file=sys.stderr,
    )
    return 0
