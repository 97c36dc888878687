"""Running schema changes beside the live product: short lock waits, retried with backoff.

Every transaction of `migrate` runs under `lock_timeout` (MIGRATE_LOCK_TIMEOUT_MS, 1 s
by default). A DDL statement waiting for a lock also makes every product statement that
queues behind it wait; the timeout bounds that wait. When it expires (or PostgreSQL
picks the migration as a deadlock's victim) only the current step is rolled back: the
steps and revisions before it are committed, so the work resumes from there after a
pause that doubles each time (MIGRATE_LOCK_RETRIES attempts more). After the last one
`migrate` stops with one line; running it again goes on where it stopped.

An index on a product table is built CONCURRENTLY, one at a time, with the session
settings of `IndexBuild`: no parallel workers by default (on a small machine they take
the product's CPU), a bounded sort memory, and the log's full-page images compressed
where the role may say so (a new index is written to the log page by page; a product
commit waits for the flush of whatever log precedes it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from core.settings import SettingsError, checked_setting

# lock_not_available (lock_timeout expired), deadlock_detected.
_RETRIED = {"55P03": "lock not granted", "40P01": "chosen as a deadlock's victim"}


class LockNotGranted(Exception):
    """The retries are spent; what committed stays, the next `migrate` resumes."""


@dataclass(frozen=True)
class IndexBuild:
    """The session settings an index build on a product table runs with
    (MIGRATE_INDEX_MEMORY_MB, MIGRATE_INDEX_WORKERS; `compress_wal` for a superuser)."""

    memory_mb: int = 64
    workers: int = 0
    compress_wal: bool = False
    # The share of wall time spent building (MIGRATE_INDEX_DUTY_CYCLE): after a build of
    # t seconds the migration rests t × (1 − duty) / duty, so the build's pages reach the
    # disk before the next build adds its own behind the product's commits.
    duty_cycle: float = 0.5

    def rest_after(self, built_s: float) -> float:
        """Seconds to rest after a build that took `built_s`."""
        return built_s * (1 - self.duty_cycle) / self.duty_cycle

    def settings(self) -> list[str]:
        found = [
            f"SET maintenance_work_mem = '{self.memory_mb}MB'",
            f"SET max_parallel_maintenance_workers = {self.workers}",
        ]
        if self.compress_wal:
            found.append("SET wal_compression = on")
        return found

    def resets(self) -> list[str]:
        found = ["RESET maintenance_work_mem", "RESET max_parallel_maintenance_workers"]
        return found + (["RESET wal_compression"] if self.compress_wal else [])


@dataclass(frozen=True)
class LockPolicy:
    """How long one lock may be waited for and how often a step is tried again; how
    indexes on product tables are built."""

    timeout_ms: int = 1000
    retries: int = 8
    first_pause_s: float = 0.25
    longest_pause_s: float = 8.0
    index_build: IndexBuild = field(default_factory=IndexBuild)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> LockPolicy:
        """From MIGRATE_LOCK_TIMEOUT_MS, MIGRATE_LOCK_RETRIES and the index build's
        settings (core/settings.py); ValueError names a bad one."""
        try:
            index_build = IndexBuild(
                memory_mb=checked_setting("migrate_index_memory_mb", environ),
                workers=checked_setting("migrate_index_workers", environ),
                duty_cycle=checked_setting("migrate_index_duty_cycle", environ),
            )
        except SettingsError as error:
            raise ValueError(str(error)) from None
        return cls(
            timeout_ms=_whole(environ, "MIGRATE_LOCK_TIMEOUT_MS", cls.timeout_ms, 1),
            retries=_whole(environ, "MIGRATE_LOCK_RETRIES", cls.retries, 0),
            index_build=index_build,
        )

    def for_role(self, connection: Connection) -> LockPolicy:
        """Compressed full-page images in the log when the connected role may set it
        (`wal_compression` is a superuser's setting)."""
        superuser = connection.execute(
            text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        ).scalar()
        return replace(self, index_build=replace(self.index_build, compress_wal=bool(superuser)))

    def pause(self, retry: int) -> float:
        """Seconds before retry number `retry` (1, 2, ...): doubling, capped."""
        return float(min(self.first_pause_s * 2 ** (retry - 1), self.longest_pause_s))


def _whole(environ: Mapping[str, str], name: str, default: int, least: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < least:
        raise ValueError(f"{name} must be at least {least}, not {value}")
    return value


def _retried(error: DBAPIError) -> str | None:
    return _RETRIED.get(str(getattr(error.orig, "sqlstate", "")))


def _statement(error: DBAPIError) -> str:
    words = " ".join(str(error.statement or "").split())
    return words if len(words) <= 80 else f"{words[:77]}..."


def run_with_retries(
    connection: Connection,
    work: Callable[[], None],
    policy: LockPolicy,
    progress: Callable[[str], None],
    where: Callable[[], str],
) -> None:
    """Run `work` (which commits as it goes) under the lock timeout, retrying a refused lock.

    `where` names the step that was rolled back (read after the rollback), for the
    progress line and the final error.
    """
    if connection.in_transaction():
        connection.commit()
    try:
        for attempt in range(policy.retries + 1):
            connection.execute(text(f"SET lock_timeout = {policy.timeout_ms}"))
            connection.commit()
            try:
                work()
                connection.commit()
                return
            except DBAPIError as error:
                reason = _retried(error)
                if reason is None:
                    raise
                connection.rollback()
                what = f"{where()}: {reason} within {policy.timeout_ms} ms ({_statement(error)})"
                if attempt == policy.retries:
                    raise LockNotGranted(
                        f"{what}; gave up after {attempt + 1} attempts: what was done is "
                        "kept, run migrate again to go on"
                    ) from None
                pause = policy.pause(attempt + 1)
                progress(f"migrate: {what}; retry {attempt + 1}/{policy.retries} in {pause:.2f} s")
                time.sleep(pause)
    finally:
        if connection.in_transaction():
            connection.rollback()
        connection.execute(text("RESET lock_timeout"))
        connection.commit()


def build_index(
    connection: Connection,
    name: str,
    build: str,
    policy: LockPolicy,
    progress: Callable[[str], None] = lambda line: None,
) -> None:
    """Run `build` (a CREATE INDEX CONCURRENTLY of `name`) outside a transaction; a valid
    index of that name is kept, an INVALID one (an interrupted build) is dropped first.
    The build waits for older transactions without blocking anyone: no lock timeout."""
    if connection.in_transaction():
        connection.commit()
    level = connection.get_isolation_level()
    connection.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with connection.begin():
            valid = connection.execute(
                text("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)"),
                {"name": f"public.{name}"},
            ).scalar()
            if valid:
                return
            if valid is not None:
                connection.execute(text(f"DROP INDEX CONCURRENTLY public.{name}"))
            connection.execute(text("SET lock_timeout = 0"))
            for setting in policy.index_build.settings():
                connection.execute(text(setting))
            progress(f"migrate: building index {name}")
            began = time.monotonic()
            try:
                connection.execute(text(build))
            finally:
                for setting in policy.index_build.resets():
                    connection.execute(text(setting))
                connection.execute(text(f"SET lock_timeout = {policy.timeout_ms}"))
            progress(f"migrate: built index {name} in {time.monotonic() - began:.1f} s")
    finally:
        connection.execution_options(isolation_level=level)
