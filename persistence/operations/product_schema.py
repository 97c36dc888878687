"""What the analytics need of the product's own tables, and how a database differs from it.

The product's database was not built by our migrations, so before adopting it we check
the shape 0001_baseline stands for: the columns the analytics read with their types and
nullability, the primary and foreign keys, the unique email per account and the checks
that keep bad data out. Extra columns, tables, other constraint or index names and the
product's own policies are its business and are not reported. Names the analytics
revisions will create must be free, or the upgrade would fail half way.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

PRODUCT_TABLES = ("accounts", "users", "trees", "ai_sessions")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool


def _columns(*specs: tuple[str, str, bool]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


_UUID, _TEXT, _TS = "uuid", "text", "timestamp with time zone"

COLUMNS: dict[str, tuple[Column, ...]] = {
    "accounts": _columns(
        ("id", _UUID, True),
        ("name", _TEXT, True),
        ("timezone", _TEXT, True),
        ("created_at", _TS, True),
    ),
    "users": _columns(
        ("id", _UUID, True),
        ("account_id", _UUID, True),
        ("email", _TEXT, True),
        ("role", _TEXT, True),
        ("created_at", _TS, True),
    ),
    "trees": _columns(
        ("id", _UUID, True),
        ("account_id", _UUID, True),
        ("name", _TEXT, True),
        ("category", _TEXT, False),
        ("status", _TEXT, True),
        ("created_at", _TS, True),
    ),
    "ai_sessions": _columns(
        ("id", _UUID, True),
        ("account_id", _UUID, True),
        ("user_id", _UUID, False),
        ("session_type", _TEXT, True),
        ("problem_domain", _TEXT, False),
        ("status", _TEXT, True),
        ("confidence_tier", _TEXT, False),
        ("matched_flow_id", _UUID, False),
        ("match_confidence", "double precision", False),
        ("started_at", _TS, True),
        ("resolved_at", _TS, False),
        ("rating", "smallint", False),
        ("psa_ticket_id", _TEXT, False),
        ("created_at", _TS, True),
    ),
}

# (table, column) -> referenced table (its `id`).
FOREIGN_KEYS: dict[tuple[str, str], str] = {
    ("users", "account_id"): "accounts",
    ("trees", "account_id"): "accounts",
    ("ai_sessions", "account_id"): "accounts",
    ("ai_sessions", "user_id"): "users",
    ("ai_sessions", "matched_flow_id"): "trees",
}
UNIQUE_KEYS: dict[str, tuple[str, ...]] = {"users": ("account_id", "email")}

# (table, column) -> the check as PostgreSQL prints it (pg_get_constraintdef).
CHECKS: dict[tuple[str, str], str] = {
    ("users", "role"): "CHECK ((role = ANY (ARRAY['engineer'::text, 'team_admin'::text, "
    "'admin'::text])))",
    ("trees", "status"): "CHECK ((status = ANY (ARRAY['draft'::text, 'published'::text, "
    "'archived'::text])))",
    ("ai_sessions", "session_type"): "CHECK ((session_type = ANY (ARRAY['flowpilot'::text, "
    "'assistant'::text])))",
    ("ai_sessions", "status"): "CHECK ((status = ANY (ARRAY['active'::text, 'paused'::text, "
    "'resolved'::text, 'escalated'::text, 'requesting_escalation'::text, 'abandoned'::text])))",
    ("ai_sessions", "confidence_tier"): "CHECK (((confidence_tier IS NULL) OR (confidence_tier "
    "= ANY (ARRAY['discovery'::text, 'exploring'::text, 'guided'::text]))))",
    ("ai_sessions", "match_confidence"): "CHECK (((match_confidence IS NULL) OR "
    "((match_confidence >= (0)::double precision) AND (match_confidence <= (1)::double "
    "precision))))",
    ("ai_sessions", "rating"): "CHECK (((rating IS NULL) OR ((rating >= 1) AND (rating <= 5))))",
}

# What the analytics revisions create: present already, their upgrade would fail.
ANALYTICS_RELATIONS = (
    "psa_activity_log",
    "psa_connections",
    "psa_outbox",
    "rollup_session_blocks",
    "rollup_flow_blocks",
    "rollup_psa_days",
    "rollup_psa_time_sessions",
    "rollup_psa_time_chains",
    "rollup_session_pushes",
    "rollup_builds",
    "ix_ai_sessions_account_flow_started",
    "ix_ai_sessions_matched_flow",
    "ix_ai_sessions_account_domain_key_started",
    "ix_ai_sessions_account_flow_started_id",
    "ix_ai_sessions_rollup_build",
    "ix_trees_account_category_key",
    "ix_trees_account_category_key_name",
    "account_data_versions",
    "data_version_epoch",
    "data_version_seq",
    "domain_aliases",
    "domain_alias_events",
    "ix_domain_aliases_target",
    "ix_domain_alias_events_pair",
)
ANALYTICS_COLUMNS = {"trees": ("usage_count", "success_rate", "last_matched_at")}
ANALYTICS_FUNCTIONS = (
    "flowpilot_account_ids",
    "psa_outbox_pending_account_ids",
    "rollup_zone",
    "rollups_rebuild_account",
    "flowpilot_data_state",
    "rollup_build_fence",
    "rollup_build_version",
    "rollup_build_start",
    "rollup_build_step",
    "rollup_build_sessions",
    "rollup_build_activity",
    "rollup_building_account_ids",
    "data_version_domain_aliases_insert",
    "data_version_domain_aliases_update",
    "data_version_domain_aliases_delete",
    "data_version_domain_alias_events_insert",
)

_COLUMN_SQL = text(
    """
    SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
      AND a.attnum > 0 AND NOT a.attisdropped
    """
)
# Single-column or composite keys as (table, contype, columns, referenced table, definition).
_CONSTRAINT_SQL = text(
    """
    SELECT c.conrelid::regclass::text, c.contype::text,
           array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                 ORDER BY k.i)::text[],
           CASE WHEN c.contype = 'f' THEN c.confrelid::regclass::text END,
           CASE WHEN c.contype = 'f' THEN
               array(SELECT a.attname FROM unnest(c.confkey) k(n)
                     JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n)::text[]
           END,
           pg_get_constraintdef(c.oid)
    FROM pg_constraint c
    WHERE c.connamespace = 'public'::regnamespace AND c.contype IN ('p', 'u', 'f', 'c')
    """
)
_UNIQUE_INDEX_SQL = text(
    """
    SELECT t.relname,
           array(SELECT a.attname FROM unnest(i.indkey) k(n)
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n)::text[]
    FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
    WHERE t.relnamespace = 'public'::regnamespace AND i.indisunique AND i.indpred IS NULL
      AND i.indexprs IS NULL
    """
)
_RELATIONS_SQL = text("SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace")
_FUNCTIONS_SQL = text("SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace")


@dataclass(frozen=True)
class Catalog:
    """The parts of the public schema's catalog the check reads."""

    columns: dict[tuple[str, str], tuple[str, bool]]
    constraints: list[tuple[str, str, tuple[str, ...], str | None, tuple[str, ...], str]]
    unique_indexes: set[tuple[str, tuple[str, ...]]]
    relations: set[str]
    functions: set[str]

    @property
    def tables(self) -> set[str]:
        return {table for table, _column in self.columns}


def read_catalog(connection: Connection) -> Catalog:
    columns = {
        (table, column): (type_, not_null)
        for table, column, type_, not_null in connection.execute(_COLUMN_SQL)
    }
    constraints = [
        (table, kind, tuple(cols), ref, tuple(ref_cols or ()), definition)
        for table, kind, cols, ref, ref_cols, definition in connection.execute(_CONSTRAINT_SQL)
    ]
    unique_indexes = {(table, tuple(cols)) for table, cols in connection.execute(_UNIQUE_INDEX_SQL)}
    relations = {row[0] for row in connection.execute(_RELATIONS_SQL)}
    functions = {row[0] for row in connection.execute(_FUNCTIONS_SQL)}
    return Catalog(columns, constraints, unique_indexes, relations, functions)


def _type_differences(catalog: Catalog) -> list[str]:
    lines: list[str] = []
    for table, columns in COLUMNS.items():
        if table not in catalog.tables:
            lines.append(f"{table}: expected a table, found none")
            continue
        for column in columns:
            found = catalog.columns.get((table, column.name))
            expected = column.type + (" not null" if column.not_null else "")
            if found is None:
                lines.append(f"{table}.{column.name}: expected {expected}, found no column")
                continue
            type_, not_null = found
            # A stricter NOT NULL than ours is fine: the analytics only read.
            if type_ != column.type or (column.not_null and not not_null):
                shown = type_ + (" not null" if not_null else " null")
                lines.append(f"{table}.{column.name}: expected {expected}, found {shown}")
    return lines


def _key_differences(catalog: Catalog) -> list[str]:
    tables = catalog.tables
    lines: list[str] = []
    primary = {(t, cols) for t, kind, cols, _r, _rc, _d in catalog.constraints if kind == "p"}
    for table in COLUMNS:
        if table in tables and (table, ("id",)) not in primary:
            lines.append(f"{table}.id: expected primary key, found none")
    foreign = {
        (t, cols[0], ref, ref_cols)
        for t, kind, cols, ref, ref_cols, _d in catalog.constraints
        if kind == "f" and len(cols) == 1
    }
    for (table, column), target in FOREIGN_KEYS.items():
        if table in tables and (table, column, target, ("id",)) not in foreign:
            lines.append(f"{table}.{column}: expected foreign key to {target}(id), found none")
    unique = {(t, cols) for t, kind, cols, _r, _rc, _d in catalog.constraints if kind in "pu"}
    unique |= catalog.unique_indexes
    for table, cols in UNIQUE_KEYS.items():
        # Any unique key over exactly these columns, in any order, will do.
        found = any(t == table and sorted(c) == sorted(cols) for t, c in unique)
        if table in tables and not found:
            lines.append(f"{table}.({', '.join(cols)}): expected unique, found none")
    return lines


def _check_differences(catalog: Catalog) -> list[str]:
    tables = catalog.tables
    lines: list[str] = []
    checks: dict[tuple[str, str], list[str]] = {}
    for table, kind, cols, _ref, _ref_cols, definition in catalog.constraints:
        if kind == "c" and len(cols) == 1:
            checks.setdefault((table, cols[0]), []).append(definition)
    for (table, column), expected in CHECKS.items():
        if table not in tables or (table, column) not in catalog.columns:
            continue
        found = checks.get((table, column), [])
        if expected not in found:
            shown = " / ".join(sorted(found)) or "none"
            lines.append(f"{table}.{column}: expected {expected}, found {shown}")
    return lines


def _collisions(catalog: Catalog) -> list[str]:
    lines = [
        f"{name}: expected absent (the analytics create it), found one"
        for name in ANALYTICS_RELATIONS
        if name in catalog.relations
    ]
    for table, columns in ANALYTICS_COLUMNS.items():
        for column in columns:
            found = catalog.columns.get((table, column))
            if found is not None:
                lines.append(
                    f"{table}.{column}: expected absent (the analytics add it), found {found[0]}"
                )
    lines += [
        f"{name}(): expected absent (the analytics create it), found a function"
        for name in ANALYTICS_FUNCTIONS
        if name in catalog.functions
    ]
    return lines


def differences(catalog: Catalog) -> list[str]:
    """One line per way the database falls short of what the analytics rely on."""
    return (
        _type_differences(catalog)
        + _key_differences(catalog)
        + _check_differences(catalog)
        + _collisions(catalog)
    )
