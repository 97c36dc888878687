"""Adopting the product's existing database: check it, record the baseline, add the analytics.

The product's database holds the tables 0001_baseline describes but no migration
history, so `upgrade` alone would try to create them again. Adoption checks their
shape (persistence.product_schema), adds what the baseline has and the product may
lack (row-level security, the tenant policy, the baseline indexes), records each such
addition in `analytics_adoption` so a downgrade takes back only what we added, stamps
the baseline and upgrades, all in the caller's one transaction. The rollups of the
existing rows are then built in batches (persistence.backfill), not inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from persistence.migrate import ADOPTION_MARKER, alembic_config, upgrade_sync
from persistence.product_schema import PRODUCT_TABLES, differences, read_catalog

BASELINE = "0001_baseline"
MARKER = ADOPTION_MARKER
_CONDITION = "current_setting('app.current_account_id', true)::uuid"

# The baseline's indexes: (name, table, leading columns).
BASELINE_INDEXES = (
    ("ix_trees_account_id", "trees", ("account_id",)),
    ("ix_ai_sessions_account_started", "ai_sessions", ("account_id", "started_at")),
    ("ix_ai_sessions_user", "ai_sessions", ("user_id",)),
)


class AdoptionRefused(Exception):
    """The database lacks what the analytics rely on; nothing was changed."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(f"{len(lines)} difference(s) from the product schema the analytics need")
        self.lines = lines


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

    def describe(self) -> list[str]:
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
        elif not self.revisions:
            lines.append(f"the database schema is at {self.current}: nothing to apply")
        for revision in self.revisions:
            lines.append(f"would apply {revision}")
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


def _rls_additions(connection: Connection) -> list[Addition]:
    rows = connection.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) "
            "FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
            "AND c.relname = ANY(:names) ORDER BY c.relname"
        ),
        {"names": list(PRODUCT_TABLES)},
    )
    additions: list[Addition] = []
    for table, enabled, forced, policies in rows:
        if not enabled:
            sql = f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"
            additions.append(
                Addition("rls_enabled", table, sql, f"enable row-level security on {table}")
            )
        if not forced:
            sql = f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY"
            additions.append(
                Addition("rls_forced", table, sql, f"force row-level security on {table}")
            )
        if not policies:
            key = "id" if table == "accounts" else "account_id"
            condition = f"{key} = {_CONDITION}"
            sql = (
                f"CREATE POLICY tenant_isolation ON {table} "
                f"USING ({condition}) WITH CHECK ({condition})"
            )
            additions.append(
                Addition("policy", table, sql, f"create policy tenant_isolation on {table}")
            )
    return additions


def _index_additions(connection: Connection) -> list[Addition]:
    """The baseline indexes with no index of the same leading columns, under any name."""
    rows = connection.execute(
        text(
            "SELECT t.relname, array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY "
            "k(n, o) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n "
            "ORDER BY k.o)::text[] FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE t.relnamespace = 'public'::regnamespace AND i.indpred IS NULL"
        )
    )
    existing = [(table, tuple(columns)) for table, columns in rows]
    additions: list[Addition] = []
    for name, table, columns in BASELINE_INDEXES:
        if any(t == table and c[: len(columns)] == columns for t, c in existing):
            continue
        sql = f"CREATE INDEX {name} ON {table} ({', '.join(columns)})"
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


def plan(connection: Connection, target: str = "head") -> Plan:
    """Read-only: what `migrate` to `target` would do to this database."""
    current = _version(connection)
    product = _existing_product_tables(connection)
    if current is not None or not product:
        result = Plan(False, current, _revisions(current, target))
        if current is not None and is_adopted(connection):
            queued = text(f"SELECT count(*) FROM {MARKER} WHERE kind = 'backfill_pending'")
            result.accounts = int(connection.execute(queued).scalar_one())
        return result
    found = differences(read_catalog(connection)) + _role_differences(connection)
    result = Plan(True, None, _revisions(BASELINE, target), differences=found)
    if not found:
        result.additions = _rls_additions(connection) + _index_additions(connection)
        result.accounts = _account_count(connection)
    return result


def adopt(connection: Connection, target: str = "head") -> Plan:
    """Check, record the baseline as present and upgrade, in the caller's transaction.

    Raises AdoptionRefused (before any change) when the product tables fall short.
    """
    result = plan(connection, target)
    if not result.adopting:
        upgrade_sync(connection, target)
        return result
    if result.differences:
        raise AdoptionRefused(result.differences)
    connection.execute(
        text(
            f"CREATE TABLE {MARKER} (kind text NOT NULL, subject text NOT NULL, "
            "recorded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (kind, subject))"
        )
    )
    record = text(f"INSERT INTO {MARKER} (kind, subject) VALUES (:kind, :subject)")
    connection.execute(record, {"kind": "baseline", "subject": BASELINE})
    for addition in result.additions:
        connection.execute(text(addition.sql))
        connection.execute(record, {"kind": addition.kind, "subject": addition.subject})
    command.stamp(alembic_config(connection), BASELINE)
    upgrade_sync(connection, target)
    return result
