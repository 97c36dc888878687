"""`python main.py migrate [--to REV] [--dry-run] [--enable-row-security]`: upgrade, adopting
the product's database.

On a database with the product tables and no migration history the upgrade first adopts
them (persistence.adoption), in the same transaction; a database that falls short is
refused with one line per difference before anything changes (a product table without
row-level security is one, unless --enable-row-security). The rollups of the
adopted rows are then built account by account, with progress; an interrupted build
resumes on the next `migrate`.

Before anything, `migrate` refuses a database where roles other than the trusted ones
may create objects in schema public (persistence.schema_creators says why), naming each
and the statement that fixes it; `--trust-schema-creators` turns that into a warning.
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
from persistence.schema_creators import close_to_public, describe, untrusted_creators
from service.cli_database import CliError, database, probe, require_head, resolve_target


def _progress(batch: Batch) -> None:
    print(batch.describe(), file=sys.stderr, flush=True)


async def migrate_to(
    engine: AsyncEngine,
    revision: str,
    enable_row_security: bool = False,
    *,
    embedded: bool = False,
) -> str:
    """Adopt if needed and upgrade to `revision` in one transaction; the revision reached.
    The embedded database is the service's own: no role but its owner creates in public."""
    async with engine.begin() as connection:
        if embedded:
            await close_to_public(connection)
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
            await migrate_to(engine, "head", embedded=True)
        else:
            await require_head(engine)
        yield engine


async def _check_schema_creators(engine: AsyncEngine, trust: bool) -> None:
    """Refuse (or, when the operator trusts them, warn) where other roles may CREATE in public."""
    async with engine.connect() as connection:
        creators = await untrusted_creators(connection)
    if not creators:
        return
    for line in describe(creators):
        print(f"warning: {line}" if trust else line, file=sys.stderr, flush=True)
    if not trust:
        raise CliError(
            "other roles may create objects in schema public: revoke it as above, or pass "
            "--trust-schema-creators if each is trusted as much as the migrating role; "
            "nothing was changed"
        )


def _refused(error: AdoptionRefused) -> CliError:
    for line in error.lines:
        print(line, file=sys.stderr)
    return CliError(f"{error}: nothing was changed")


async def _migrate(args: argparse.Namespace) -> int:
    target = await resolve_target()
    await probe(target.url)
    async with database(target.url) as engine:
        if not target.embedded:
            await _check_schema_creators(engine, args.trust_schema_creators)
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
            reached = await migrate_to(
                engine, args.to, args.enable_row_security, embedded=target.embedded
            )
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
