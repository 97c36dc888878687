"""Adopting the product's existing database: check it, record the baseline, add the analytics.

The product's database holds the tables 0001_baseline describes but no migration
history, so `upgrade` alone would try to create them again. Adoption checks their
shape (persistence.operations.product_schema), adds the policies that bind the analytics' role and
no other (persistence.operations.product_rls) and the baseline indexes the product may lack, records
each such addition in `analytics_adoption` so a downgrade takes back only what we added,
stamps the baseline and upgrades. The product's row-level security, its own policies,
grants and owners stay as they were. Each addition runs in a short transaction of its own
under the lock timeout (an index is built CONCURRENTLY, outside one), and is recorded with
it: an interrupted adoption resumes on the next run (persistence.operations.online_ddl). The rollups
of the existing rows are then built in batches (persistence.operations.backfill). A database
adopted by an earlier release, which forced row-level security on the product's tables,
is repaired the same way, table by table (persistence.operations.legacy_rls).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from persistence.operations.ddl_locks import Statements
from persistence.operations.legacy_rls import Repair, repairs, unjoined_api_roles
from persistence.operations.migrate import ADOPTION_MARKER, alembic_config, upgrade_online
from persistence.operations.online_ddl import LockPolicy, build_index, run_with_retries
from persistence.operations.product_rls import group_difference, group_step
from persistence.operations.product_rls import steps as policy_steps
from persistence.operations.product_schema import PRODUCT_TABLES, differences, read_catalog

BASELINE = "0001_baseline"
MARKER = ADOPTION_MARKER

# The baseline's indexes: (name, table, leading columns).
BASELINE_INDEXES = (
    ("ix_trees_account_id", "trees", ("account_id",)),
    ("ix_ai_sessions_account_started", "ai_sessions", ("account_id", "started_at")),
    ("ix_ai_sessions_user", "ai_sessions", ("user_id",)),
)


class AdoptionRefused(Exception):
    """The database lacks what the analytics rely on; nothing was changed."""

    summary = "difference(s) from the product schema the analytics need"

    def __init__(self, lines: list[str]) -> None:
        super().__init__(f"{len(lines)} {self.summary}")
        self.lines = lines


class RepairRefused(AdoptionRefused):
    """An adopted database's tables are not exactly as the earlier scheme left them."""

    summary = "table(s) not as an earlier adoption left them, not repaired"


@dataclass(frozen=True)
class Addition:
    """One baseline object the product database lacks: recorded as (kind, subject)."""

    kind: str
    subject: str
    sql: str
    description: str


@dataclass
class Plan:
    """What `migrate` would do; `adopting` only for a database with product tables."""

    adopting: bool
    current: str | None
    revisions: list[str]
    differences: list[str] = field(default_factory=list)
    additions: list[Addition] = field(default_factory=list)
    accounts: int = 0
    # An adopted database's tables as the earlier scheme left them (legacy_rls), and the
    # group their new policies name, first.
    repairs: list[Repair] = field(default_factory=list)
    group: Addition | None = None
    members: list[str] = field(default_factory=list)

    def describe(self, lock_timeout_ms: int = 1000) -> list[str]:
        lines: list[str] = []
        if self.adopting:
            lines.append(
                "the database holds the product tables without migration history: adopting them"
            )
            if self.differences:
                return [*lines, *self.differences]
            lines.append("schema check: the product tables have what the analytics need")
            lines += [f"would {addition.description}" for addition in self.additions]
            lines.append(f"would record {BASELINE} as present (no product table is created)")
        elif self.differences:
            return self.differences
        if self.group is not None:
            lines.append(f"would {self.group.description}")
        lines += [
            f"would make role {member} (the API's, as create-app-role made it) a "
            f"member of {self.group.subject if self.group else ''}, so that the policies "
            "below bind it to one account before the earlier ones go"
            for member in self.members
        ]
        lines += [f"would {repair.description}" for repair in self.repairs]
        if not self.adopting and not self.revisions:
            lines.append(f"the database schema is at {self.current}: nothing to apply")
        for revision in self.revisions:
            lines.append(f"would apply {revision}")
        if self.additions or self.revisions or self.repairs:
            lines.append(
                "each step that changes a product table would run in its own transaction, "
                f"waiting at most {lock_timeout_ms} ms for its lock (then retried after a pause, "
                "so product statements queued behind it go on); indexes on product tables would be "
                "built CONCURRENTLY, the product reading and writing them meanwhile"
            )
        if self.accounts:
            lines.append(
                f"would then build the rollups of {self.accounts} existing accounts, "
                "each in chunks of sessions"
            )
        return lines


def _version(connection: Connection) -> str | None:
    if connection.execute(text("SELECT to_regclass('public.alembic_version')")).scalar() is None:
        return None
    return connection.execute(text("SELECT max(version_num) FROM alembic_version")).scalar()


def _existing_product_tables(connection: Connection) -> list[str]:
    rows = connection.execute(
        text(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind IN ('r', 'p') AND relname = ANY(:names)"
        ),
        {"names": list(PRODUCT_TABLES)},
    )
    return [row[0] for row in rows]


def is_adopted(connection: Connection) -> bool:
    query = text(f"SELECT to_regclass('public.{MARKER}') IS NOT NULL")
    return bool(connection.execute(query).scalar())


def _index_additions(connection: Connection) -> list[Addition]:
    """The baseline indexes with no index of the same leading columns, under any name."""
    rows = connection.execute(
        text(
            "SELECT t.relname, array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY "
            "k(n, o) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n "
            "ORDER BY k.o)::text[] FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE t.relnamespace = 'public'::regnamespace AND i.indpred IS NULL "
            "AND i.indisvalid"
        )
    )
    existing = [(table, tuple(columns)) for table, columns in rows]
    additions: list[Addition] = []
    for name, table, columns in BASELINE_INDEXES:
        if any(t == table and c[: len(columns)] == columns for t, c in existing):
            continue
        sql = f"CREATE INDEX CONCURRENTLY {name} ON public.{table} ({', '.join(columns)})"
        additions.append(
            Addition("index", name, sql, f"create index {name} on {table} ({', '.join(columns)})")
        )
    return additions


def _revisions(current: str | None, target: str) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    steps = script.iterate_revisions(target, current or "base")
    return [step.revision for step in reversed(list(steps))]


def _role_differences(connection: Connection) -> list[str]:
    """The adoption queues and builds every account: a role bound by RLS would see none."""
    user, bypasses = connection.execute(
        text(
            "SELECT current_user, rolsuper OR rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        )
    ).one()
    if bypasses:
        return []
    return [f"role {user}: expected superuser or BYPASSRLS (to read every account), found neither"]


def _account_count(connection: Connection) -> int:
    # The migrating role reads every account (superuser or BYPASSRLS), as 0003 requires.
    return int(connection.execute(text("SELECT count(*) FROM accounts")).scalar() or 0)


def plan(connection: Connection, target: str = "head", enable_row_security: bool = False) -> Plan:
    """Read-only: what `migrate` to `target` would do to this database.

    A product table without row-level security is a difference unless
    `enable_row_security` (persistence.operations.product_rls says why).
    """
    current = _version(connection)
    product = _existing_product_tables(connection)
    # An adoption that stopped before recording the baseline as present goes on.
    if current is not None or not product:
        result = Plan(False, current, _revisions(current, target))
        if current is not None and is_adopted(connection):
            queued = text(f"SELECT count(*) FROM {MARKER} WHERE kind = 'backfill_pending'")
            result.accounts = int(connection.execute(queued).scalar_one())
            result.repairs, result.differences = repairs(connection, PRODUCT_TABLES)
            if result.repairs:
                result.differences += group_difference(connection)
                result.group = Addition(*group_step(connection))
                result.members = unjoined_api_roles(connection)
            if result.differences:
                result.repairs, result.group, result.members = [], None, []
        return result
    policies, refusals = policy_steps(connection, PRODUCT_TABLES, enable_row_security)
    found = differences(read_catalog(connection)) + _role_differences(connection)
    found += group_difference(connection) + refusals
    result = Plan(True, None, _revisions(BASELINE, target), differences=found)
    if not found:
        # The group first: the policies name it.
        result.additions = [Addition(*group_step(connection))]
        result.additions += [Addition(*step) for step in policies] + _index_additions(connection)
        result.accounts = _account_count(connection)
    return result


_MARKER_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {MARKER} (kind text NOT NULL, subject text NOT NULL, "
    "recorded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (kind, subject))"
)


def _record(kind: str, subject: str) -> str:
    quoted = subject.replace("'", "''")
    return (
        f"INSERT INTO {MARKER} (kind, subject) VALUES ('{kind}', '{quoted}') ON CONFLICT DO NOTHING"
    )


@dataclass(frozen=True)
class Step:
    """One transaction of the adoption, or (`index`) one CONCURRENTLY build outside one."""

    statements: tuple[str, ...]
    index: str | None = None


def steps(result: Plan) -> list[Step]:
    """The adoption's steps before the baseline is recorded as present, in order."""
    found = [Step((_MARKER_TABLE, _record("baseline", BASELINE)))]
    for addition in result.additions:
        if addition.kind == "index":
            found.append(Step((_record(addition.kind, addition.subject),)))
            found.append(Step((addition.sql,), index=addition.subject))
        else:
            found.append(Step((addition.sql, _record(addition.kind, addition.subject))))
    return found


def repair_steps(result: Plan) -> list[Step]:
    """The repair's transactions: the group, then one per table, each with its record."""
    if result.group is None:
        return []
    group = result.group
    grants = tuple(f'GRANT {group.subject} TO "{member}"' for member in result.members)
    found = [Step((group.sql, _record(group.kind, group.subject), *grants))]
    return found + [Step(repair.statements) for repair in result.repairs]


def repair_sql(result: Plan) -> list[str]:
    """The repair's statements as they run, for review."""
    units: list[str] = []
    for step in repair_steps(result):
        units += ["BEGIN;", *(f"{sql};" for sql in step.statements), "COMMIT;"]
    return units


def steps_sql(result: Plan, policy: LockPolicy) -> list[str]:
    """The adoption's statements as they run, transaction control and stamp included."""
    units: list[str] = []
    for step in steps(result):
        if step.index is not None:
            units += ["SET lock_timeout = 0;", *(f"{s};" for s in policy.index_build.settings())]
            units.append(f"{step.statements[0]};")
            units += [f"{s};" for s in policy.index_build.resets()]
            units.append(f"SET lock_timeout = {policy.timeout_ms};")
            continue
        units += ["BEGIN;", *(f"{sql};" for sql in step.statements), "COMMIT;"]
    buffer = Statements()
    config = alembic_config()
    config.attributes["output_buffer"] = buffer
    command.stamp(config, BASELINE, sql=True)
    return units + buffer.units


def refusal(result: Plan) -> AdoptionRefused:
    """Why `migrate` would change nothing on this database, one line per difference."""
    if result.adopting:
        return AdoptionRefused(result.differences)
    return RepairRefused(result.differences)


def _print(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def adopt(
    connection: Connection,
    target: str = "head",
    enable_row_security: bool = False,
    policy: LockPolicy | None = None,
    progress: Callable[[str], None] = _print,
) -> Plan:
    """Check, add what the analytics need step by step, record the baseline as present and
    upgrade (persistence.operations.migrate.upgrade_online), committing as it goes.

    On a database an earlier release adopted, first repairs its product tables'
    row-level security (persistence.operations.legacy_rls). Raises AdoptionRefused (before
    any change) when the product tables fall short, RepairRefused when they are not
    exactly as that release left them.
    """
    policy = policy or LockPolicy()
    result = plan(connection, target, enable_row_security)
    if result.differences:
        raise refusal(result)
    if result.adopting:

        def work() -> None:
            # Read again on each attempt: what an earlier attempt committed is not redone.
            for step in steps(plan(connection, target, enable_row_security)):
                if step.index is not None:
                    build_index(connection, step.index, step.statements[0], policy, progress)
                    continue
                for sql in step.statements:
                    connection.execute(text(sql))
                connection.commit()
            command.stamp(alembic_config(connection), BASELINE)
            connection.commit()

        run_with_retries(connection, work, policy, progress, lambda: "adopting the product tables")
    if result.repairs:
        group = "the role flowpilot_analytics and its members"
        current = [group]

        def repair() -> None:
            # Read again on each attempt: a table repaired before is not found again.
            again = plan(connection, target, enable_row_security)
            names = [group] + [f"table {r.table}" for r in again.repairs]
            for name, step in zip(names, repair_steps(again), strict=True):
                current[0] = name
                for sql in step.statements:
                    connection.execute(text(sql))
                connection.commit()

        def where() -> str:
            return f"repairing {current[0]}"

        run_with_retries(connection, repair, policy, progress, where)
    upgrade_online(connection, target, policy, progress)
    return result
