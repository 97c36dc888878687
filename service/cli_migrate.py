"""`python main.py migrate [--to REV] [--dry-run]`: upgrade, adopting the product's database.

On a database with the product tables and no migration history the upgrade first adopts
them (persistence.adoption), in the same transaction; a database that falls short is
refused with one line per difference before anything changes. The rollups of the
adopted rows are then built account by account, with progress; an interrupted build
resumes on the next `migrate`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from persistence.adoption import AdoptionRefused, Plan, adopt, plan
from persistence.backfill import Batch, backfill
from persistence.engine import create_engine
from persistence.migrate import current_revision, head_revision
from service.cli_database import CliError, probe, resolve_target


def _progress(batch: Batch) -> None:
    print(batch.describe(), file=sys.stderr, flush=True)


async def plan_for(url: str, revision: str) -> Plan:
    """What `migrate` would do, read in a transaction that is rolled back."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(plan, revision)
    finally:
        await engine.dispose()


async def migrate_to(url: str, revision: str) -> str:
    """Adopt if needed and upgrade to `revision` in one transaction; the revision reached."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(adopt, revision)
            reached = await current_revision(connection)
    finally:
        await engine.dispose()
    return reached or "base"


async def build_rollups(url: str) -> int:
    """Build the queued accounts' rollups (none unless the database was adopted)."""
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        return await backfill(engine, _progress)
    finally:
        await engine.dispose()


def _refused(error: AdoptionRefused) -> CliError:
    for line in error.lines:
        print(line, file=sys.stderr)
    return CliError(f"{error}: nothing was changed")


def cmd_migrate(args: argparse.Namespace) -> int:
    target = resolve_target()
    asyncio.run(probe(target.url))
    if args.dry_run:
        planned = asyncio.run(plan_for(target.url, args.to))
        if planned.differences:
            raise _refused(AdoptionRefused(planned.differences))
        for line in planned.describe():
            print(line, flush=True)
        return 0
    try:
        reached = asyncio.run(migrate_to(target.url, args.to))
    except AdoptionRefused as error:
        raise _refused(error) from None
    built = asyncio.run(build_rollups(target.url))
    if built:
        print(f"rollups built for {built} accounts", flush=True)
    suffix = " (head)" if reached == head_revision() else ""
    print(f"database schema at {reached}{suffix}", flush=True)
    return 0
