"""Rollups built in short chunks while the product writes.

Revision ID: 0011_rollups_built_in_chunks
Revises: 0009_triggers_run_as_owner
Create Date: 2024-01-11 00:00:00

Before, building an account's rollups (adoption, `rebuild-rollups`, a time-zone change)
was one transaction that held every writer of sessions and PSA activity until it ended
(about 18 s for the largest account at L). Now an account is built in chunks, each its own
short transaction, while the triggers keep applying every concurrent write.

Why this is exact. A rollup row is a sum over sessions (a session's PSA activity, its
funnel flags and its time-entry chain all belong to its session), so the rows are well
defined for "the sessions whose id is at most W". While an account builds, the invariant
is: its rollups are exactly those of the rows keyed at most W (`rollup_builds`), with W
NULL (nothing) at the start. Each trigger counts only the old and new rows keyed at most
W (a row above W is read, as it then stands, by the chunk that builds it); a chunk moves
W from lo to hi and adds the rows keyed in (lo, hi] as the insert triggers would add
them. Trigger and chunk must agree on W for every row version, so they exclude each
other per account: the trigger takes a shared transaction lock (and reads W after it,
in a new snapshot), the chunk an exclusive one. Either the writer's trigger ran first
(W below its row: ignored), and the chunk, waiting for the writer to commit, reads the
row; or the chunk committed first (W covers the row: the trigger applies it), and the
chunk never saw the then uncommitted row. A start waits for the writers in flight the
same way, then empties the sums. A product write thus waits at most for one chunk.
A start and a chunk first move the account's data version (0008), whose row every writer
updates before its rollup trigger runs: caches end with the chunk, and a REPEATABLE READ
writer with an older snapshot gets a serialization failure instead of a stale watermark.
Shadow tables were the other way: they double the trigger work and need a swap that
again holds writers for the whole account.

The chunk bodies and the triggers' new bodies are derived, in SQL, from the trigger
functions the database holds (so a revision that re-creates them first is kept): the
chunk runs the insert triggers' statements over the table's rows in (lo, hi] instead of
the transition table; each trigger gets the fence first and the W filter on each
transition-table read. `rollups_rebuild_account` becomes a start and one chunk of every
row (one transaction, as before); the time-zone trigger only starts a build, which the
background job or `rebuild-rollups` finishes.
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

from migrations.sql_script import execute_file, statements

revision: str = "0011_rollups_built_in_chunks"
down_revision: str | None = "0010_definer_names_qualified"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQL = Path(__file__).with_suffix(".sql")
# The definitions this revision replaces, as 0010 left them (every name qualified).
_QUALIFIED_SQL = Path(__file__).with_name("0010_definer_names_qualified.sql")
_NIL = "'00000000-0000-0000-0000-000000000000'::uuid"
# Each table's key expression, for a row alias.
_KEYS = {"ai_sessions": "{a}.id", "psa_activity_log": f"coalesce({{a}}.session_id, {_NIL})"}
_FENCE_ARRAYS = {
    "insert": "ARRAY(SELECT t.account_id FROM new_rows t)",
    "update": (
        "ARRAY(SELECT t.account_id FROM new_rows t UNION SELECT t.account_id FROM old_rows t)"
    ),
    "delete": "ARRAY(SELECT t.account_id FROM old_rows t)",
}
_TRANSITIONS = {"insert": ("n",), "update": ("n", "o"), "delete": ("o",)}
_READS = {"n": "FROM new_rows n", "o": "FROM old_rows o"}
# Rows in (build_lo, build_hi] of account build_account; NULL bounds are open.
_CHUNK_ROWS = {
    "ai_sessions": (
        "FROM public.ai_sessions n WHERE n.account_id = build_account"
        " AND (build_lo IS NULL OR n.id > build_lo) AND (build_hi IS NULL OR n.id <= build_hi)"
    ),
    "psa_activity_log": (
        "FROM public.psa_activity_log n WHERE n.account_id = build_account"
        " AND (build_lo IS NULL OR n.session_id > build_lo)"
        " AND (build_hi IS NULL OR n.session_id <= build_hi OR n.session_id IS NULL)"
    ),
}
_CHUNK_FUNCTIONS = {
    "ai_sessions": "rollup_build_sessions",
    "psa_activity_log": "rollup_build_activity",
}

# A chunk function from an insert trigger's body, with the trigger's search_path. Its
# statements join a chunk's few rows to the account's sessions and rollups: nested loops
# over the primary keys, never a hash of the whole account (or a scan of every account's
# sessions) per chunk, which would make a build quadratic in the account's size.
_DERIVE_CHUNK = """
DO $do$
DECLARE
    body text;
    path text;
BEGIN
    SELECT p.prosrc,
           coalesce((SELECT substr(c, 13) FROM unnest(p.proconfig) AS c
                     WHERE c LIKE 'search_path=%%'), 'pg_catalog, public, pg_temp')
    INTO body, path
    FROM pg_catalog.pg_proc p WHERE p.oid = 'public.rollup_%(table)s_insert()'::regprocedure;
    IF position('FROM new_rows n' IN body) = 0 OR position('RETURN NULL;' IN body) = 0 THEN
        RAISE EXCEPTION 'rollup_%(table)s_insert() is not laid out as 0004 wrote it';
    END IF;
    body := replace(replace(body, 'FROM new_rows n', %(rows)s), 'RETURN NULL;', 'RETURN;');
    EXECUTE format('CREATE FUNCTION public.%(name)s(build_account uuid, build_lo uuid, '
                   'build_hi uuid) RETURNS void LANGUAGE plpgsql '
                   'SET plan_cache_mode = force_custom_plan SET enable_hashjoin = off '
                   'SET enable_mergejoin = off SET search_path = %%s AS %%L',
                   path, body);
END
$do$
"""

# A trigger function redefined from its current definition (attributes kept): `pairs`
# is an array of (from, to) replacements, each of which must apply.
_REWRITE_TRIGGER = """
DO $do$
DECLARE
    definition text := pg_catalog.pg_get_functiondef('public.%(name)s()'::regprocedure);
    pair text[];
BEGIN
    FOREACH pair SLICE 1 IN ARRAY %(pairs)s LOOP
        IF position(pair[1] IN definition) = 0 THEN
            RAISE EXCEPTION '%(name)s(): %% not found', pair[1];
        END IF;
        definition := replace(definition, pair[1], pair[2]);
    END LOOP;
    EXECUTE definition;
END
$do$
"""

_APP_ROLE_GRANTS = """
DO $do$
DECLARE grantee text;
BEGIN
  FOR grantee IN
    SELECT DISTINCT pg_get_userbyid(acl.grantee)
    FROM pg_class c, aclexplode(c.relacl) AS acl
    WHERE c.oid = 'public.psa_outbox'::regclass AND acl.privilege_type = 'SELECT'
      AND acl.grantee <> 0 AND acl.grantee <> c.relowner
  LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION public.rollup_building_account_ids(), '
                   'public.rollup_build_step(uuid, integer) TO %I', grantee);
  END LOOP;
END
$do$
"""

_TIMEZONE = """
CREATE OR REPLACE FUNCTION public.rollup_accounts_timezone() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  PERFORM public.rollup_build_start(NEW.id);
  RETURN NULL;
END
$fn$
"""

_REBUILD = """
CREATE OR REPLACE FUNCTION public.rollups_rebuild_account(target uuid) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM public.rollup_build_start(target);
    PERFORM public.rollup_build_step(target, 2147483647);
END
$fn$
"""


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _counted(table: str, alias: str) -> str:
    """The filter a trigger puts on a transition-table read: rows keyed at most W."""
    key = _KEYS[table].format(a=alias)
    return (
        f" WHERE NOT EXISTS (SELECT FROM public.rollup_builds rb"
        f" WHERE rb.account_id = {alias}.account_id"
        f" AND (rb.built_through IS NULL OR {key} > rb.built_through))"
    )


def _fence(operation: str) -> str:
    return f" PERFORM public.rollup_build_fence({_FENCE_ARRAYS[operation]});"


def _trigger_changes(table: str, operation: str) -> list[tuple[str, str]]:
    """(before, after) text pairs that turn the trigger's body into the chunk-aware one."""
    changes = [
        (_READS[alias], _READS[alias] + _counted(table, alias)) for alias in _TRANSITIONS[operation]
    ]
    # The fence goes first in the body (the reads above no longer match it).
    changes.append(("AS $function$\nBEGIN", "AS $function$\nBEGIN" + _fence(operation)))
    return changes


def _rewrite(table: str, operation: str, changes: list[tuple[str, str]]) -> str:
    pairs = ", ".join(f"ARRAY[{_literal(a)}, {_literal(b)}]" for a, b in changes)
    return _REWRITE_TRIGGER % {
        "name": f"rollup_{table}_{operation}",
        "pairs": f"ARRAY[{pairs}]",
    }


def upgrade() -> None:
    execute_file(_SQL)
    for table, name in _CHUNK_FUNCTIONS.items():
        rows = _literal(_CHUNK_ROWS[table])
        op.execute(_DERIVE_CHUNK % {"table": table, "rows": rows, "name": name})
    for table in _KEYS:
        for operation in _TRANSITIONS:
            op.execute(_rewrite(table, operation, _trigger_changes(table, operation)))
    op.execute(_TIMEZONE)
    op.execute(_REBUILD)
    op.execute(_APP_ROLE_GRANTS)


def _released(name: str) -> str:
    """0010's CREATE OR REPLACE FUNCTION statement of `name` (attributes included)."""
    for statement in statements(_QUALIFIED_SQL.read_text(encoding="utf-8")):
        if statement.startswith(f"CREATE OR REPLACE FUNCTION public.{name}("):
            return statement
    raise LookupError(name)


def downgrade() -> None:
    # Accounts still being built are finished in one transaction each, as before.
    op.execute(
        "DO $do$ DECLARE a uuid; BEGIN "
        "FOR a IN SELECT account_id FROM public.rollup_builds ORDER BY account_id LOOP "
        "PERFORM public.rollups_rebuild_account(a); END LOOP; END $do$"
    )
    op.execute(_released("rollups_rebuild_account"))
    op.execute(_released("rollup_accounts_timezone"))
    for table in _KEYS:
        for operation in _TRANSITIONS:
            changes = _trigger_changes(table, operation)
            op.execute(_rewrite(table, operation, [(b, a) for a, b in reversed(changes)]))
    for name in _CHUNK_FUNCTIONS.values():
        op.execute(f"DROP FUNCTION public.{name}(uuid, uuid, uuid)")
    op.execute("DROP FUNCTION public.rollup_building_account_ids()")
    op.execute("DROP FUNCTION public.rollup_build_step(uuid, integer)")
    op.execute("DROP FUNCTION public.rollup_build_start(uuid)")
    op.execute("DROP FUNCTION public.rollup_build_fence(uuid[])")
    op.execute("DROP FUNCTION public.rollup_build_version(uuid)")
    op.execute("DROP TABLE public.rollup_builds")
