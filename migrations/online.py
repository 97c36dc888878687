"""How a revision touches the product's tables while the product runs.

`migrate` runs each revision in its own transaction under a `lock_timeout`
(persistence.operations.migrate). Inside a revision:

- `step()` commits what the revision did so far and opens the next transaction, so the
  locks one product table needs are never held while waiting for another's; the step
  after it must be skippable on a re-run (`done`), since the revision's version row is
  written only with its last step.
- `index()` builds an index CONCURRENTLY outside any transaction: the product reads and
  writes the table meanwhile. A valid index of that name is kept; an INVALID one, left by
  an interrupted build, is dropped and built again. The build runs with the session
  settings of persistence.operations.online_ddl.IndexBuild (no parallel workers, bounded
  memory) and says on standard error when it starts and how long it took; then the
  migration rests (MIGRATE_INDEX_DUTY_CYCLE) so the index's pages reach the disk before
  the next build's join them in front of the product's commits.
- `drop_index()` drops one CONCURRENTLY, outside any transaction, the same way.
- `reaches()` says whether this run goes on to a later revision: an index that a later
  revision of the same run drops is not built at all (each build on `ai_sessions` writes
  its whole index to the log, and the product's commits wait for that log's flush).
- `build_ahead()` builds now the session indexes that the later revisions of this run
  declare (`SESSION_INDEXES`), so an adoption builds them all before the rollup triggers
  make each product write heavier; their own revisions then find them built.

Run in the caller's one transaction instead (a new, empty database built in one go), a
step boundary is nothing and an index is built plainly. In offline (`--sql`) mode
everything is printed as it would run online.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol, cast

import sqlalchemy as sa
from alembic import context, op
from alembic.script import Script, ScriptDirectory

# Set by persistence.operations.migrate: "online" (per-revision transactions) or absent (one
# transaction); "adopted" answers `adopted()` when printing SQL without running it.
ONLINE = "online"
ADOPTED = "adopted"
_ADOPTION_MARKER = "analytics_adoption"
# Offline: whether the reviewed database has the first 0005's stored `trees.category_key`
# (revision 0012 converts it); online the revision reads the catalog itself.
LEGACY_CATEGORY_KEY = "legacy_category_key"
LEGACY_CATEGORY_KEY_SQL = (
    "EXISTS (SELECT FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('public.trees') "
    "AND attname = 'category_key' AND NOT attisdropped)"
)


def _attributes() -> dict[str, object]:
    return context.config.attributes


def attribute(name: str) -> object:
    """What the caller of the upgrade told the revisions (offline: about the database)."""
    return _attributes().get(name)


def offline() -> bool:
    return bool(op.get_context().as_sql)


def online() -> bool:
    """Per-revision transactions (the CLI, `upgrade_engine`) or offline SQL."""
    return offline() or bool(_attributes().get(ONLINE))


def adopted() -> bool:
    """Whether the database is the product's, adopted (persistence.operations.adoption)."""
    if offline():
        return bool(_attributes().get(ADOPTED))
    marker = sa.text(f"SELECT to_regclass('public.{_ADOPTION_MARKER}') IS NOT NULL")
    return bool(op.get_bind().execute(marker).scalar())


def _run_down_to(lower: str) -> list[Script]:
    """The revisions from this run's destination down to `lower`, newest first."""
    script = ScriptDirectory.from_config(context.config)
    return list(script.iterate_revisions(context.get_revision_argument(), lower))


def reaches(revision: str) -> bool:
    """Whether this run's destination is `revision` or a revision after it."""
    return any(found.revision == revision for found in _run_down_to("base"))


# A revision module's (name, table, columns) of the indexes it builds on `ai_sessions`.
SESSION_INDEXES = "SESSION_INDEXES"
_BUILT_AHEAD = "built_ahead"


def build_ahead(revision: str) -> None:
    """Build the `SESSION_INDEXES` of the revisions after `revision` up to this run's
    destination, oldest first, each as `index()` would; the revisions skip them later.
    Offline the statements are printed here and not again in their revisions."""
    later = [found for found in _run_down_to(revision) if found.revision != revision]
    for found in reversed(later):
        for name, table, columns in getattr(found.module, SESSION_INDEXES, ()):
            index(name, table, columns)
            _built_ahead().add(name)


def _built_ahead() -> set[str]:
    return cast("set[str]", _attributes().setdefault(_BUILT_AHEAD, set()))


def _holds(condition: str) -> bool:
    return bool(op.get_bind().execute(sa.text(f"SELECT {condition}")).scalar())


def step(run: Callable[[], None], done: str | None = None) -> None:
    """Commit the revision so far, then `run` in a transaction of its own.

    `done` is a SQL condition that holds once this step has committed (e.g. its first
    object exists): a re-run of an interrupted revision skips the step then. Offline
    the step is printed as it would run the first time.
    """
    if online():
        with op.get_context().autocommit_block():
            pass
    if done is not None and not offline() and _holds(done):
        return
    run()


def index(name: str, table: str, columns: str) -> None:
    """`CREATE INDEX CONCURRENTLY name ON public.table (columns)`, outside a transaction;
    nothing when this run built it ahead (`build_ahead`)."""
    if name in _built_ahead():
        return
    build = f"CREATE INDEX CONCURRENTLY {name} ON public.{table} ({columns})"
    if not online():
        op.execute(build.replace(" CONCURRENTLY", ""))
        return
    with op.get_context().autocommit_block():
        if not offline():
            state = op.get_bind().execute(
                sa.text("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)"),
                {"name": f"public.{name}"},
            )
            valid = state.scalar()
            if valid:
                return
            if valid is not None:
                op.execute(f"DROP INDEX CONCURRENTLY public.{name}")
        # The build waits for older transactions without blocking anyone: no lock timeout.
        op.execute("SET lock_timeout = 0")
        policy = _index_build()
        for setting in policy.settings() if policy else []:
            op.execute(setting)
        _say(f"migrate: building index {name}")
        began = time.monotonic()
        op.execute(build)
        built_s = time.monotonic() - began
        rest_s = policy.rest_after(built_s) if policy else 0.0
        resting = f"; resting {rest_s:.1f} s (MIGRATE_INDEX_DUTY_CYCLE)" if rest_s >= 0.1 else ""
        _say(f"migrate: built index {name} in {built_s:.1f} s{resting}")
        for setting in policy.resets() if policy else []:
            op.execute(setting)
        op.execute(f"SET lock_timeout = {lock_timeout_ms()}")
        if resting:
            time.sleep(rest_s)


def drop_index(name: str) -> None:
    """`DROP INDEX CONCURRENTLY IF EXISTS public.name`, outside a transaction.

    Like a concurrent build it takes no lock the product's reads and writes wait for, and
    waits for older transactions itself: no lock timeout. An interrupted drop leaves the
    index INVALID (unused, still written); a re-run finishes it.
    """
    drop = f"DROP INDEX CONCURRENTLY IF EXISTS public.{name}"
    if not online():
        op.execute(drop.replace(" CONCURRENTLY", ""))
        return
    if not offline() and not _holds(f"to_regclass('public.{name}') IS NOT NULL"):
        return
    with op.get_context().autocommit_block():
        op.execute("SET lock_timeout = 0")
        _say(f"migrate: dropping index {name}")
        op.execute(drop)
        op.execute(f"SET lock_timeout = {lock_timeout_ms()}")


class _IndexBuild(Protocol):
    """What the caller's policy (persistence.operations.online_ddl.IndexBuild) offers."""

    def settings(self) -> list[str]: ...
    def resets(self) -> list[str]: ...
    def rest_after(self, built_s: float) -> float: ...


def _index_build() -> _IndexBuild | None:
    """The caller's index build policy; none when a new database is built in one go."""
    return cast("_IndexBuild | None", _attributes().get("index_build"))


def _say(line: str) -> None:
    if not offline():
        print(line, file=sys.stderr, flush=True)


def lock_timeout_ms() -> int:
    return int(str(_attributes().get("lock_timeout_ms", 1000)))


def trigger_running_as_owner(function: str, create_trigger: str) -> Callable[[], None]:
    """A step that makes `function` run as its owner, then creates the trigger that calls
    it: from the moment the trigger fires on the product's writes it needs none of their
    roles' rights on the analytics' tables (as revision 0009 makes every such function).
    The revisions before 0009 commit one by one, so otherwise a product write in between
    would run the function with the product role's rights and be refused. 0010 then
    narrows the search_path to pg_catalog and qualifies every name."""

    def run() -> None:
        op.execute(
            f"ALTER FUNCTION public.{function}() SECURITY DEFINER "
            "SET search_path = pg_catalog, public, pg_temp"
        )
        op.execute(create_trigger)

    return run
