"""Running schema changes beside the live product: short lock waits, retried with backoff.

Every transaction of `migrate` runs under `lock_timeout` (MIGRATE_LOCK_TIMEOUT_MS, 1 s
by default). A DDL statement waiting for a lock also makes every product statement that
queues behind it wait; the timeout bounds that wait. When it expires (or PostgreSQL
picks the migration as a deadlock's victim) only the current step is rolled back: the
steps and revisions before it are committed, so the work resumes from there after a
pause that doubles each time (MIGRATE_LOCK_RETRIES attempts more). After the last one
`migrate` stops with one line; running it again goes on where it stopped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

# lock_not_available (lock_timeout expired), deadlock_detected.
_RETRIED = {"55P03": "lock not granted", "40P01": "chosen as a deadlock's victim"}


class LockNotGranted(Exception):
    """The retries are spent; what committed stays, the next `migrate` resumes."""


@dataclass(frozen=True)
class LockPolicy:
    """How long one lock may be waited for and how often a step is tried again."""

    timeout_ms: int = 1000
    retries: int = 8
    first_pause_s: float = 0.25
    longest_pause_s: float = 8.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> LockPolicy:
        """From MIGRATE_LOCK_TIMEOUT_MS and MIGRATE_LOCK_RETRIES; ValueError names a bad one."""
        return cls(
            timeout_ms=_whole(environ, "MIGRATE_LOCK_TIMEOUT_MS", cls.timeout_ms, 1),
            retries=_whole(environ, "MIGRATE_LOCK_RETRIES", cls.retries, 0),
        )

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


def build_index(connection: Connection, name: str, build: str, policy: LockPolicy) -> None:
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
            try:
                connection.execute(text(build))
            finally:
                connection.execute(text(f"SET lock_timeout = {policy.timeout_ms}"))
    finally:
        connection.execution_options(isolation_level=level)
