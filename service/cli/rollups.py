"""`python main.py rebuild-rollups`: recompute the analytics rollups from the raw tables.

Triggers keep the rollups exact on every write; run this after a bulk load made with
triggers disabled, or to repair. One account (`--account`) or all, each in chunks (one
short transaction each, the longest a product write waits) sized to take about
ROLLUP_BUILD_CHUNK_TARGET_MS, or of exactly `--chunk` sessions when given, paced by
ROLLUP_BUILD_DUTY_CYCLE. Builds left unfinished (a time-zone change, an
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
from service.cli.migrate import build_chunks, build_pacing, database_at_head


async def rebuild(account: uuid.UUID | None, chunk: int | None) -> tuple[int, float, list[Build]]:
    """(accounts rebuilt, seconds the rebuild took, the builds)."""
    builds: list[Build] = []
    pacing = build_pacing()
    chunk_sizing = build_chunks(chunk)
    async with database_at_head() as engine:
        sessionmaker = create_sessionmaker(engine)
        started = time.perf_counter()
        builds.extend(await finish_started_builds(sessionmaker, chunk_sizing, pacing))
        if account is None:
            accounts = await rebuild_all(sessionmaker, chunk_sizing, builds.append, pacing)
        else:
            builds.append(await rebuild_account(sessionmaker, account, chunk_sizing, pacing))
            accounts = 1
    return accounts, time.perf_counter() - started, builds


def summary(accounts: int, elapsed: float, builds: list[Build]) -> str:
    """The closing line: the longest chunk (what a product write waited for at most) and
    the range of chunk sizes the builds used."""
    longest = max((build.longest_chunk_s for build in builds), default=0.0)
    line = f"rollups rebuilt: {accounts} accounts in {elapsed:.3f} s (longest chunk {longest:.3f} s"
    if builds:
        smallest = min(build.smallest_chunk for build in builds)
        largest = max(build.largest_chunk for build in builds)
        sizes = f"{smallest}" if smallest == largest else f"{smallest} to {largest}"
        line += f", chunks of {sizes} sessions"
    return line + ")"


def cmd_rebuild_rollups(args: argparse.Namespace) -> int:
    print(summary(*asyncio.run(rebuild(args.account, args.chunk))), file=sys.stderr)
    return 0
