"""`python main.py migrate [--to REV] [--dry-run] [--enable-row-security]`: upgrade, adopting
the product's database.

On a database with the product tables and no migration history the upgrade first adopts
them (persistence.adoption), in the same transaction; a database that falls short is
refused with one line per difference before anything changes (a product table without
row-level security is one, unless --enable-row-security). The rollups of the
adopted rows are then built account by account, with progress; an interrupted build
resumes on the next `migrate`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.adoption import AdoptionRefused, adopt, plan
from persistence.backfill import Batch, backfill
from persistence.migrate import current_revision, head_revision
from service.cli_database import CliError, database, probe, require_head, resolve_target


def _progress(batch: Batch) -> None:
    print(batch.describe(), file=sys.stderr, flush=True)


async def migrate_to(engine: AsyncEngine, revision: str, enable_row_security: bool = False) -> str:
    """Adopt if needed and upgrade to `revision` in one transaction; the revision reached."""
    async with engine.begin() as connection:
        await connection.run_sync(adopt, revision, enable_row_security)
        reached = await current_revision(connection)
    return reached or "base"


@asynccontextmanager
async def database_at_head() -> AsyncIterator[AsyncEngine]:
    """The command's database, reachable and at the newest schema. The embedded database
    is ours, so it is brought to head without asking; another one must be there already."""
    target = await resolve_target()
    await probe(target.url)
    async with database(target.url) as engine:
        if target.embedded:
            await migrate_to(engine, "head")
        else:
            await require_head(engine)
        yield engine


def _refused(error: AdoptionRefused) -> CliError:
    for line in error.lines:
        print(line, file=sys.stderr)
    return CliError(f"{error}: nothing was changed")


async def _migrate(args: argparse.Namespace) -> int:
    target = await resolve_target()
    await probe(target.url)
    async with database(target.url) as engine:
        if args.dry_run:
            # What `migrate` would do, read in a transaction that is rolled back.
            async with engine.connect() as connection:
                planned = await connection.run_sync(plan, args.to, args.enable_row_security)
            if planned.differences:
                raise _refused(AdoptionRefused(planned.differences))
            for line in planned.describe():
                print(line, flush=True)
            return 0
        try:
            reached = await migrate_to(engine, args.to, args.enable_row_security)
        except AdoptionRefused as error:
            raise _refused(error) from None
        # The queued accounts' rollups (none unless the database was adopted).
        built = await backfill(engine, _progress)
    if built:
        print(f"rollups built for {built} accounts", flush=True)
    suffix = " (head)" if reached == head_revision() else ""
    print(f"database schema at {reached}{suffix}", flush=True)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    return asyncio.run(_migrate(args))
