"""`python main.py migrate [--to REV] [--dry-run | --sql] [--enable-row-security]`: upgrade,
adopting the product's database.

On a database with the product tables and no migration history the upgrade first adopts
them (persistence.operations.adoption); a database that falls short is refused with one line per
difference before anything changes (a product table without row-level security is one,
unless --enable-row-security). Every step runs in a short transaction under the lock
timeout, retried with backoff (persistence.operations.online_ddl), so an interrupted run resumes
where it stopped. A database adopted by an earlier release, with row-level security
forced and `tenant_isolation` for every role, is repaired first
(persistence.operations.legacy_rls). The rollups of the adopted rows are then built
account by account, with progress. `--sql` prints the statements with their locks for review.

Before anything, `migrate` refuses a database where roles other than the trusted ones
may create objects in schema public (persistence.operations.schema_creators says why), naming each
and the statement that fixes it; `--trust-schema-creators` turns that into a warning.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import SettingsError, checked_setting
from persistence.chunk_sizing import ChunkSizing
from persistence.operations.adoption import (
    BASELINE,
    AdoptionRefused,
    adopt,
    is_adopted,
    plan,
    refusal,
    repair_sql,
    steps_sql,
)
from persistence.operations.backfill import Batch, backfill
from persistence.operations.ddl_locks import review
from persistence.operations.migrate import (
    alembic_config,
    current_revision,
    has_legacy_category_key,
    head_revision,
    upgrade_sql,
)
from persistence.operations.online_ddl import LockNotGranted, LockPolicy
from persistence.operations.schema_creators import close_to_public, describe, untrusted_creators
from persistence.rollups import Pacing
from service.cli.database import CliError, database, probe, require_head, resolve_target


def _progress(batch: Batch) -> None:
    print(batch.describe(), file=sys.stderr, flush=True)


def _building(accounts: int, chunks: ChunkSizing, pacing: Pacing) -> None:
    print(
        f"rollups: building {accounts} accounts, each in {chunks.describe()}, "
        f"working {pacing.duty_cycle:.0%} of the time (ROLLUP_BUILD_DUTY_CYCLE)",
        file=sys.stderr,
        flush=True,
    )


def build_pacing() -> Pacing:
    """ROLLUP_BUILD_DUTY_CYCLE, or one line saying what it accepts."""
    try:
        return Pacing(checked_setting("rollup_build_duty_cycle"))
    except SettingsError as error:
        raise CliError(str(error)) from None


def build_chunks(fixed: int | None = None) -> ChunkSizing:
    """`fixed` sessions per chunk when given, else chunks sized by
    ROLLUP_BUILD_CHUNK_TARGET_MS (or one line saying what it accepts)."""
    if fixed is not None:
        return ChunkSizing.fixed(fixed)
    try:
        return ChunkSizing.targeting(checked_setting("rollup_build_chunk_target_ms"))
    except SettingsError as error:
        raise CliError(str(error)) from None


def lock_policy() -> LockPolicy:
    try:
        return LockPolicy.from_environ()
    except ValueError as error:
        raise CliError(str(error)) from None


async def migrate_to(
    engine: AsyncEngine,
    revision: str,
    enable_row_security: bool = False,
    *,
    embedded: bool = False,
) -> str:
    """Adopt if needed and upgrade to `revision`, step by step; the revision reached.
    The embedded database is the service's own: no role but its owner creates in public."""
    policy = lock_policy()
    async with engine.connect() as connection:
        if embedded:
            await close_to_public(connection)
            await connection.commit()
        policy = await connection.run_sync(policy.for_role)
        try:
            await connection.run_sync(adopt, revision, enable_row_security, policy)
        except LockNotGranted as error:
            raise CliError(str(error)) from None
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


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def check_database(connection: Connection, target: str) -> None:
    """Refuse, in one line, a target or a database that `migrate` cannot work from."""
    if target not in ("head", "base") and not _known(target):
        raise CliError(f"unknown revision {target!r}: see migrations/versions for the known ones")
    version = connection.execute(text("SELECT to_regclass('public.alembic_version')")).scalar()
    if version is not None:
        current = connection.execute(text("SELECT max(version_num) FROM alembic_version")).scalar()
        if current is not None and not _known(current):
            raise CliError(
                f"the database's schema is at {current!r}, a revision this version does not "
                "know: not the analytics' database"
            )
        return
    found = connection.execute(
        text(
            "SELECT count(*) FILTER (WHERE relname = ANY(:product)), count(*) FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'v', 'm')"
        ),
        {"product": ["accounts", "users", "trees", "ai_sessions"]},
    ).one()
    if found[1] and not found[0]:
        raise CliError(
            f"the database holds {found[1]} tables but neither the product's nor a migration "
            "history: not empty, not the product's, not adopted; nothing was changed"
        )


def _script(
    connection: Connection, target: str, policy: LockPolicy, enable_row_security: bool = False
) -> str:
    planned = plan(connection, target, enable_row_security)
    if planned.differences:
        raise refusal(planned)
    policy = policy.for_role(connection)
    units = [f"SET lock_timeout = {policy.timeout_ms};"]
    if planned.adopting:
        units += steps_sql(planned, policy)
        units += upgrade_sql(BASELINE, target, policy, adopted=True)
    else:
        units += repair_sql(planned)
    if not planned.adopting and planned.revisions:
        units += upgrade_sql(
            planned.current,
            target,
            policy,
            adopted=is_adopted(connection),
            legacy_category_key=has_legacy_category_key(connection),
        )
    header = [
        "-- The SQL `python main.py migrate` runs on this database, in this order. Each",
        f"-- transaction waits at most {policy.timeout_ms} ms for a lock (lock_timeout), and is",
        f"-- retried up to {policy.retries} times with a doubling pause when it has to give up.",
    ]
    header += [f"-- It would {repair.description}." for repair in planned.repairs]
    if not planned.adopting and not planned.revisions:
        header.append(f"-- The database schema is at {planned.current}: nothing to apply.")
    if planned.accounts:
        header.append(
            f"-- Then the rollups of {planned.accounts} accounts are built, one account per "
            "transaction (persistence/operations/backfill.py)."
        )
    return "\n".join(header) + "\n\n" + review(units)


async def _migrate(args: argparse.Namespace) -> int:
    target = await resolve_target()
    await probe(target.url)
    policy = lock_policy()
    pacing = build_pacing()
    chunks = build_chunks(args.chunk)
    async with database(target.url) as engine:
        if not target.embedded:
            await _check_schema_creators(engine, args.trust_schema_creators)
        async with engine.connect() as connection:
            await connection.run_sync(check_database, args.to)
            if args.sql:
                # Read only: the statements are printed, nothing runs.
                try:
                    script = await connection.run_sync(
                        _script, args.to, policy, args.enable_row_security
                    )
                except AdoptionRefused as error:
                    raise _refused(error) from None
                print(script, end="", flush=True)
                return 0
        if args.dry_run:
            # What `migrate` would do, read in a transaction that is rolled back.
            async with engine.connect() as connection:
                planned = await connection.run_sync(plan, args.to, args.enable_row_security)
            if planned.differences:
                raise _refused(refusal(planned))
            for line in planned.describe(policy.timeout_ms):
                print(line, flush=True)
            return 0
        try:
            reached = await migrate_to(
                engine, args.to, args.enable_row_security, embedded=target.embedded
            )
        except AdoptionRefused as error:
            raise _refused(error) from None
        # The queued accounts' rollups (none unless the database was adopted).
        built = await backfill(
            engine,
            _progress,
            chunk=chunks,
            pacing=pacing,
            on_start=lambda n: _building(n, chunks, pacing),
        )
    if built:
        print(f"rollups built for {built} accounts", flush=True)
    suffix = " (head)" if reached == head_revision() else ""
    print(f"database schema at {reached}{suffix}", flush=True)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    return asyncio.run(_migrate(args))
