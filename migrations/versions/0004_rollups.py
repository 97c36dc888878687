"""Rollups: exact per-account aggregates by local day, kept current by triggers.

Revision ID: 0004_rollups
Revises: 0003_psa_write_paths
Create Date: 2024-01-04 00:00:00

The analytics read these small tables instead of scanning every session of a window.
Sessions are summed into dyadic blocks of account-local days (level k covers 2^k days,
levels 0..9), so any window is a union of at most ~2 blocks per level; PSA activity is
summed per local day. Statement-level triggers with transition tables apply the signed
difference of every INSERT, UPDATE, DELETE (and COPY) on ai_sessions and
psa_activity_log in the same transaction; changing an account's time zone rebuilds its
rollups. Everything runs with the caller's rights, so row-level security keeps binding.

The SQL expressions (domain key, trimmed spelling, resolution minutes, numeric hours)
are spelled out here, not imported, so later code edits never rewrite history; they are
the same expressions the analytics used when they scanned sessions, so the sums agree
to the last digit.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0004_rollups"
down_revision: str | None = "0003_psa_write_paths"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOP_LEVEL = 9
_CURRENT_ACCOUNT = "current_setting('app.current_account_id', true)::uuid"
_TABLES = (
    "rollup_session_blocks",
    "rollup_flow_blocks",
    "rollup_psa_days",
    "rollup_psa_time_sessions",
    "rollup_psa_time_chains",
    "rollup_session_pushes",
)


def _key(column: str) -> str:
    return rf"NULLIF(lower(btrim(regexp_replace({column}, '\s+', ' ', 'g'))), '')"


def _trimmed(column: str) -> str:
    return rf"regexp_replace({column}, '^\s+|\s+$', '', 'g')"


def _zones(source: str) -> str:
    """Each touched account's zone once (an unknown name counts as UTC, as the API does)."""
    return (
        "SELECT a.id, rollup_zone(a.timezone) AS zone FROM accounts a "
        f"WHERE a.id IN (SELECT src.account_id FROM {source} AS src)"
    )


def _session_facts(source: str) -> str:
    """One row per counted session of `source` (columns `sign` + ai_sessions columns)."""
    linked = "(coalesce(btrim(s.psa_ticket_id), '') <> '')"
    noted = f"({linked} AND coalesce(p.notes, 0) > 0)"
    return f"""
    SELECT s.sign, s.account_id,
           ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
           coalesce({_key("s.problem_domain")}, '') AS domain_key,
           CASE WHEN {_key("s.problem_domain")} IS NULL THEN ''
                ELSE {_trimmed("s.problem_domain")} END AS spelling,
           s.matched_flow_id AS flow_id,
           (s.status = 'resolved')::int AS resolved,
           (s.status = 'escalated')::int AS escalated,
           (s.confidence_tier IS NOT DISTINCT FROM 'guided')::int AS guided,
           (s.confidence_tier IS NOT DISTINCT FROM 'exploring')::int AS exploring,
           (s.confidence_tier IS NOT DISTINCT FROM 'discovery')::int AS discovery,
           CASE WHEN s.status = 'resolved' AND s.resolved_at IS NOT NULL
                THEN extract(epoch FROM s.resolved_at - s.started_at) / 60 END AS minutes,
           s.rating, s.match_confidence::numeric AS confidence,
           {linked}::int AS linked,
           {noted}::int AS doc_pushed,
           ({noted} AND coalesce(p.time_entries, 0) > 0)::int AS time_logged
    FROM {source} s
    JOIN zones z ON z.id = s.account_id
    LEFT JOIN rollup_session_pushes p ON p.account_id = s.account_id AND p.session_id = s.id
    WHERE s.session_type = 'flowpilot'
    """


_SESSION_SUMS = {
    "sessions": "sum(f.sign)",
    "resolved": "sum(f.sign * f.resolved)",
    "escalated": "sum(f.sign * f.escalated)",
    "guided": "sum(f.sign * f.guided)",
    "exploring": "sum(f.sign * f.exploring)",
    "discovery": "sum(f.sign * f.discovery)",
    "resolution_count": "sum(f.sign * (f.minutes IS NOT NULL)::int)",
    "resolution_minutes": "coalesce(sum(f.sign * f.minutes), 0)",
    "rating_sum": "coalesce(sum(f.sign * f.rating), 0)",
    "rating_count": "sum(f.sign * (f.rating IS NOT NULL)::int)",
    "linked": "sum(f.sign * f.linked)",
    "doc_pushed": "sum(f.sign * f.doc_pushed)",
    "time_logged": "sum(f.sign * f.time_logged)",
}
_FLOW_SUMS = {
    "usage": "sum(f.sign)",
    "resolved": "sum(f.sign * f.resolved)",
    "guided": "sum(f.sign * f.guided)",
    "confidence_sum": "coalesce(sum(f.sign * f.confidence), 0)",
    "confidence_count": "sum(f.sign * (f.confidence IS NOT NULL)::int)",
}
_SESSION_KEY = ("account_id", "level", "block", "domain_key", "spelling")
_FLOW_KEY = ("account_id", "level", "block", "flow_id")


def _upsert(table: str, key: tuple[str, ...], sums: dict[str, str], select: str) -> str:
    """Add signed sums to `table`, creating rows as needed (rows locked in key order)."""
    columns = ", ".join((*key, *sums))
    adds = ", ".join(f"{name} = r.{name} + excluded.{name}" for name in sums)
    return (
        f"INSERT INTO {table} AS r ({columns}) {select} "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {adds}"
    )


def _grouped(key_exprs: list[str], sums: dict[str, str], source: str, where: str = "") -> str:
    nonzero = " OR ".join(f"{expr} <> 0" for expr in sums.values())
    positions = ", ".join(str(index + 1) for index in range(len(key_exprs)))
    values = ", ".join(f"{expr} AS {name}" for name, expr in sums.items())
    return (
        f"SELECT {', '.join(key_exprs)}, {values} FROM {source} {where} "
        f"GROUP BY {positions} HAVING {nonzero} ORDER BY {positions}"
    )


def _apply_sessions(changes: str) -> str:
    """Statements adding the signed session rows of `changes` to both block tables."""
    facts = f"WITH zones AS MATERIALIZED ({_zones(changes)}), facts AS ({_session_facts(changes)})"
    levels = f"facts f CROSS JOIN generate_series(0, {TOP_LEVEL}) AS l(level)"
    session_select = _grouped(
        ["f.account_id", "l.level", "f.dayn >> l.level", "f.domain_key", "f.spelling"],
        _SESSION_SUMS,
        levels,
    )
    flow_select = _grouped(
        ["f.account_id", "l.level", "f.dayn >> l.level", "f.flow_id"],
        _FLOW_SUMS,
        levels,
        "WHERE f.flow_id IS NOT NULL",
    )
    session_upsert = _upsert("rollup_session_blocks", _SESSION_KEY, _SESSION_SUMS, session_select)
    flow_upsert = _upsert("rollup_flow_blocks", _FLOW_KEY, _FLOW_SUMS, flow_select)
    return f"{facts} {session_upsert};\n{facts} {flow_upsert};\n"


def _prune_sessions(old: str) -> str:
    """Delete block rows left empty by the removed rows in `old`."""
    facts = f"WITH zones AS MATERIALIZED ({_zones(old)}), facts AS ({_session_facts(old)})"
    levels = f"generate_series(0, {TOP_LEVEL}) AS l(level)"
    return f"""
    {facts}
    DELETE FROM rollup_session_blocks r USING facts f, {levels}
    WHERE r.account_id = f.account_id AND r.level = l.level AND r.block = f.dayn >> l.level
      AND r.domain_key = f.domain_key AND r.spelling = f.spelling AND r.sessions = 0;
    {facts}
    DELETE FROM rollup_flow_blocks r USING facts f, {levels}
    WHERE r.account_id = f.account_id AND r.level = l.level AND r.block = f.dayn >> l.level
      AND r.flow_id = f.flow_id AND r.usage = 0;
    """


def _activities(changes: str) -> str:
    """Signed activity rows of `changes` with their local day."""
    return f"""
    SELECT c.sign, c.account_id, c.session_id, c.activity_type, c.hours_logged,
           (c.created_at AT TIME ZONE z.zone)::date AS day
    FROM {changes} c JOIN zones z ON z.id = c.account_id
    """


_PSA_SUMS = {
    "time_entries": "sum(a.sign * (a.activity_type = 'time_entry_posted')::int)",
    "hours": "coalesce(sum(a.sign * a.hours_logged::numeric) "
    "FILTER (WHERE a.activity_type = 'time_entry_posted'), 0)",
    "notes": "sum(a.sign * (a.activity_type = 'note_posted')::int)",
    "status_updates": "sum(a.sign * (a.activity_type = 'status_updated')::int)",
}
_PUSH_SUMS = {
    "notes": "sum(a.sign * (a.activity_type = 'note_posted')::int)",
    "time_entries": "sum(a.sign * (a.activity_type = 'time_entry_posted')::int)",
}
_CHAINS = """
    SELECT t.account_id, t.day,
           coalesce(lag(t.day) OVER (PARTITION BY t.account_id, t.session_id ORDER BY t.day),
                    DATE '-infinity') AS prev_day
    FROM rollup_psa_time_sessions t
    JOIN (SELECT DISTINCT account_id, session_id FROM acts
          WHERE session_id IS NOT NULL AND activity_type = 'time_entry_posted') x
      ON x.account_id = t.account_id AND x.session_id = t.session_id
"""


def _apply_activities(changes: str) -> str:
    """Statements applying the signed activity rows of `changes` to every PSA rollup.

    Order matters: the funnel flags and the time-entry chains are first taken off with
    the state before the change, the per-session tables are updated, then put back.
    """
    head = f"WITH zones AS MATERIALIZED ({_zones(changes)}), acts AS ({_activities(changes)})"
    days = _upsert(
        "rollup_psa_days",
        ("account_id", "day"),
        _PSA_SUMS,
        _grouped(["a.account_id", "a.day"], _PSA_SUMS, "acts a"),
    )
    prune_days = (
        "DELETE FROM rollup_psa_days r USING acts a WHERE r.account_id = a.account_id "
        "AND r.day = a.day AND r.time_entries = 0 AND r.notes = 0 AND r.status_updates = 0"
    )
    session_zones = "SELECT a.id, rollup_zone(a.timezone) AS zone FROM accounts a"
    funnel = f"""
    {head},
    d AS ({
        _grouped(
            ["a.account_id", "a.session_id"], _PUSH_SUMS, "acts a", "WHERE a.session_id IS NOT NULL"
        )
    }),
    flags AS (
        SELECT d.account_id, d.session_id,
               coalesce(p.notes, 0) > 0 AS note0, coalesce(p.notes, 0) + d.notes > 0 AS note1,
               coalesce(p.time_entries, 0) > 0 AS time0,
               coalesce(p.time_entries, 0) + d.time_entries > 0 AS time1
        FROM d LEFT JOIN rollup_session_pushes p
          ON p.account_id = d.account_id AND p.session_id = d.session_id
    ),
    szones AS MATERIALIZED ({session_zones} WHERE a.id IN (SELECT account_id FROM d)),
    moved AS (
        SELECT s.account_id,
               ((s.started_at AT TIME ZONE z.zone)::date - DATE '1970-01-01') AS dayn,
               coalesce({_key("s.problem_domain")}, '') AS domain_key,
               CASE WHEN {_key("s.problem_domain")} IS NULL THEN ''
                    ELSE {_trimmed("s.problem_domain")} END AS spelling,
               f.note1::int - f.note0::int AS doc_pushed,
               (f.note1 AND f.time1)::int - (f.note0 AND f.time0)::int AS time_logged
        FROM flags f
        JOIN ai_sessions s ON s.id = f.session_id AND s.account_id = f.account_id
        JOIN szones z ON z.id = s.account_id
        WHERE s.session_type = 'flowpilot' AND coalesce(btrim(s.psa_ticket_id), '') <> ''
    )
    INSERT INTO rollup_session_blocks AS r ({", ".join((*_SESSION_KEY, *_SESSION_SUMS))})
    SELECT m.account_id, l.level, m.dayn >> l.level, m.domain_key, m.spelling,
           {"0, " * (len(_SESSION_SUMS) - 2)}sum(m.doc_pushed), sum(m.time_logged)
    FROM moved m CROSS JOIN generate_series(0, {TOP_LEVEL}) AS l(level)
    GROUP BY 1, 2, 3, 4, 5 HAVING sum(m.doc_pushed) <> 0 OR sum(m.time_logged) <> 0
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ({", ".join(_SESSION_KEY)}) DO UPDATE
    SET doc_pushed = r.doc_pushed + excluded.doc_pushed,
        time_logged = r.time_logged + excluded.time_logged
    """
    pushes = _upsert(
        "rollup_session_pushes",
        ("account_id", "session_id"),
        _PUSH_SUMS,
        _grouped(
            ["a.account_id", "a.session_id"], _PUSH_SUMS, "acts a", "WHERE a.session_id IS NOT NULL"
        ),
    )
    prune_pushes = (
        "DELETE FROM rollup_session_pushes r USING acts a WHERE r.account_id = a.account_id "
        "AND r.session_id = a.session_id AND r.notes = 0 AND r.time_entries = 0"
    )
    time_sums = {"entries": "sum(a.sign)"}
    time_sessions = _upsert(
        "rollup_psa_time_sessions",
        ("account_id", "session_id", "day"),
        time_sums,
        _grouped(
            ["a.account_id", "a.session_id", "a.day"],
            time_sums,
            "acts a",
            "WHERE a.session_id IS NOT NULL AND a.activity_type = 'time_entry_posted'",
        ),
    )
    prune_time_sessions = (
        "DELETE FROM rollup_psa_time_sessions r USING acts a WHERE r.account_id = a.account_id "
        "AND r.session_id = a.session_id AND r.day = a.day AND r.entries = 0"
    )

    def chains(sign: str) -> str:
        sums = {"sessions": f"{sign}count(*)"}
        return f"{head} " + _upsert(
            "rollup_psa_time_chains",
            ("account_id", "day", "prev_day"),
            sums,
            f"SELECT c.account_id, c.day, c.prev_day, {sign}count(*) FROM ({_CHAINS}) c "
            "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        )

    prune_chains = (
        "DELETE FROM rollup_psa_time_chains r "
        "WHERE r.account_id IN (SELECT account_id FROM acts) AND r.sessions = 0"
    )
    return (
        ";\n".join(
            [
                f"{head} {days}",
                f"{head} {prune_days}",
                funnel,
                f"{head} {pushes}",
                f"{head} {prune_pushes}",
                chains("-"),
                f"{head} {time_sessions}",
                f"{head} {prune_time_sessions}",
                chains(""),
                f"{head} {prune_chains}",
            ]
        )
        + ";\n"
    )


def _changes(operation: str) -> tuple[str, str | None]:
    """(signed changed rows, removed rows) as SQL for a statement trigger's transition tables."""
    inserted = "(SELECT 1 AS sign, n.* FROM new_rows n)"
    deleted = "(SELECT -1 AS sign, o.* FROM old_rows o)"
    if operation == "INSERT":
        return inserted, None
    if operation == "DELETE":
        return deleted, deleted
    return f"({inserted[1:-1]} UNION ALL {deleted[1:-1]})", deleted


def _trigger_function(name: str, body: str) -> str:
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
        f"BEGIN\n{body}\nRETURN NULL;\nEND\n$fn$"
    )


def _session_trigger_body(operation: str) -> str:
    changes, removed = _changes(operation)
    body = _apply_sessions(changes)
    if removed is not None:
        body += _prune_sessions(removed)
    return body


def _activity_trigger_body(operation: str) -> str:
    changes, _removed = _changes(operation)
    return _apply_activities(changes)


def _rebuild_body() -> str:
    """Delete and recompute every rollup of `target` from its sessions and activities."""
    deletes = "".join(f"DELETE FROM {table} WHERE account_id = target;\n" for table in _TABLES)
    pushes_changes = "(SELECT 1 AS sign, p.* FROM psa_activity_log p WHERE p.account_id = target)"
    head = (
        f"WITH zones AS MATERIALIZED ({_zones(pushes_changes)}), "
        f"acts AS ({_activities(pushes_changes)})"
    )
    pushes = _upsert(
        "rollup_session_pushes",
        ("account_id", "session_id"),
        _PUSH_SUMS,
        _grouped(
            ["a.account_id", "a.session_id"], _PUSH_SUMS, "acts a", "WHERE a.session_id IS NOT NULL"
        ),
    )
    days = _upsert(
        "rollup_psa_days",
        ("account_id", "day"),
        _PSA_SUMS,
        _grouped(["a.account_id", "a.day"], _PSA_SUMS, "acts a"),
    )
    time_sums = {"entries": "sum(a.sign)"}
    time_sessions = _upsert(
        "rollup_psa_time_sessions",
        ("account_id", "session_id", "day"),
        time_sums,
        _grouped(
            ["a.account_id", "a.session_id", "a.day"],
            time_sums,
            "acts a",
            "WHERE a.session_id IS NOT NULL AND a.activity_type = 'time_entry_posted'",
        ),
    )
    chains = (
        "INSERT INTO rollup_psa_time_chains (account_id, day, prev_day, sessions) "
        "SELECT c.account_id, c.day, c.prev_day, count(*) FROM ("
        "SELECT t.account_id, t.day, coalesce(lag(t.day) OVER "
        "(PARTITION BY t.session_id ORDER BY t.day), DATE '-infinity') AS prev_day "
        "FROM rollup_psa_time_sessions t WHERE t.account_id = target) c GROUP BY 1, 2, 3"
    )
    sessions = "(SELECT 1 AS sign, s.* FROM ai_sessions s WHERE s.account_id = target)"
    facts = (
        f"WITH zones AS MATERIALIZED ({_zones(sessions)}), facts AS ({_session_facts(sessions)})"
    )
    base_sessions = _grouped(
        ["f.account_id", "0", "f.dayn", "f.domain_key", "f.spelling"], _SESSION_SUMS, "facts f"
    )
    base_flows = _grouped(
        ["f.account_id", "0", "f.dayn", "f.flow_id"],
        _FLOW_SUMS,
        "facts f",
        "WHERE f.flow_id IS NOT NULL",
    )

    def level_up(table: str, key: tuple[str, ...], sums: dict[str, str]) -> str:
        rest = [name for name in key if name not in ("account_id", "level", "block")]
        columns = ", ".join((*key, *sums))
        totals = ", ".join(f"sum({name})" for name in sums)
        return (
            f"INSERT INTO {table} ({columns}) SELECT target, k, block >> 1, "
            f"{', '.join(rest)}, {totals} FROM {table} "
            f"WHERE account_id = target AND level = k - 1 GROUP BY block >> 1, {', '.join(rest)}"
        )

    return f"""
DECLARE
    previous text := current_setting('app.current_account_id', true);
    k int;
BEGIN
    PERFORM set_config('app.current_account_id', target::text, true);
    {deletes}
    {head} {pushes};
    {head} {days};
    {head} {time_sessions};
    {chains};
    {facts} INSERT INTO rollup_session_blocks ({", ".join((*_SESSION_KEY, *_SESSION_SUMS))})
        {base_sessions};
    {facts} INSERT INTO rollup_flow_blocks ({", ".join((*_FLOW_KEY, *_FLOW_SUMS))}) {base_flows};
    FOR k IN 1..{TOP_LEVEL} LOOP
        {level_up("rollup_session_blocks", _SESSION_KEY, _SESSION_SUMS)};
        {level_up("rollup_flow_blocks", _FLOW_KEY, _FLOW_SUMS)};
    END LOOP;
    PERFORM set_config('app.current_account_id', coalesce(previous, ''), true);
END
"""


# Present only in a database adopted from the product (see persistence/adoption.py).
_ADOPTION_MARKER = "analytics_adoption"


def _adopted() -> bool:
    marker = sa.text(f"SELECT to_regclass('public.{_ADOPTION_MARKER}') IS NOT NULL")
    return bool(op.get_bind().execute(marker).scalar())


def _counts(*names: str) -> list[sa.Column[object]]:
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def _account() -> sa.Column[object]:
    return sa.Column("account_id", UUID(as_uuid=True), primary_key=True)


def _create_tables() -> None:
    op.create_table(
        "rollup_session_blocks",
        _account(),
        sa.Column("level", sa.SmallInteger(), primary_key=True),
        sa.Column("block", sa.Integer(), primary_key=True),
        sa.Column("domain_key", sa.Text(), primary_key=True),
        sa.Column("spelling", sa.Text(), primary_key=True),
        *_counts("sessions", "resolved", "escalated", "guided", "exploring", "discovery"),
        *_counts("resolution_count"),
        sa.Column("resolution_minutes", sa.Numeric(), nullable=False),
        sa.Column("rating_sum", sa.Integer(), nullable=False),
        *_counts("rating_count", "linked", "doc_pushed", "time_logged"),
    )
    op.create_table(
        "rollup_flow_blocks",
        _account(),
        sa.Column("level", sa.SmallInteger(), primary_key=True),
        sa.Column("block", sa.Integer(), primary_key=True),
        sa.Column("flow_id", UUID(as_uuid=True), primary_key=True),
        *_counts("usage", "resolved", "guided"),
        sa.Column("confidence_sum", sa.Numeric(), nullable=False),
        *_counts("confidence_count"),
    )
    op.create_table(
        "rollup_psa_days",
        _account(),
        sa.Column("day", sa.Date(), primary_key=True),
        *_counts("time_entries"),
        sa.Column("hours", sa.Numeric(), nullable=False),
        *_counts("notes", "status_updates"),
    )
    op.create_table(
        "rollup_psa_time_sessions",
        _account(),
        sa.Column("session_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        *_counts("entries"),
    )
    op.create_table(
        "rollup_psa_time_chains",
        _account(),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("prev_day", sa.Date(), primary_key=True),
        *_counts("sessions"),
    )
    op.create_table(
        "rollup_session_pushes",
        _account(),
        sa.Column("session_id", UUID(as_uuid=True), primary_key=True),
        *_counts("notes", "time_entries"),
    )
    condition = f"account_id = {_CURRENT_ACCOUNT}"
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING ({condition}) WITH CHECK ({condition})"
        )


_OPERATIONS = ("INSERT", "UPDATE", "DELETE")


def _transitions(operation: str) -> str:
    if operation == "INSERT":
        return "NEW TABLE AS new_rows"
    if operation == "DELETE":
        return "OLD TABLE AS old_rows"
    return "OLD TABLE AS old_rows NEW TABLE AS new_rows"


def upgrade() -> None:
    _create_tables()
    op.execute(
        "CREATE FUNCTION rollup_zone(name text) RETURNS text LANGUAGE plpgsql STABLE AS $fn$\n"
        "BEGIN\n  PERFORM now() AT TIME ZONE name;\n  RETURN name;\n"
        "EXCEPTION WHEN others THEN\n  RETURN 'UTC';\nEND\n$fn$"
    )
    op.execute(
        "CREATE FUNCTION rollups_rebuild_account(target uuid) RETURNS void "
        f"LANGUAGE plpgsql AS $fn${_rebuild_body()}$fn$"
    )
    for operation in _OPERATIONS:
        lower = operation.lower()
        for table, body in (
            ("ai_sessions", _session_trigger_body(operation)),
            ("psa_activity_log", _activity_trigger_body(operation)),
        ):
            name = f"rollup_{table}_{lower}"
            op.execute(_trigger_function(name, body))
            op.execute(
                f"CREATE TRIGGER {name} AFTER {operation} ON {table} "
                f"REFERENCING {_transitions(operation)} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION {name}()"
            )
    op.execute(
        "CREATE FUNCTION rollup_accounts_timezone() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
        "BEGIN\n  PERFORM rollups_rebuild_account(NEW.id);\n  RETURN NULL;\nEND\n$fn$"
    )
    op.execute(
        "CREATE TRIGGER rollup_accounts_timezone AFTER UPDATE OF timezone ON accounts "
        "FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone) "
        "EXECUTE FUNCTION rollup_accounts_timezone()"
    )
    if _adopted():
        # The product's own database: its accounts are built in batches after this
        # transaction (persistence/backfill.py), each in its own; queue them here.
        op.execute(
            f"INSERT INTO {_ADOPTION_MARKER} (kind, subject) SELECT 'backfill_pending', "
            "id::text FROM flowpilot_account_ids() AS t(id) ON CONFLICT DO NOTHING"
        )
        return
    # Existing data: fill every account once.
    op.execute(
        "DO $do$ DECLARE a uuid; BEGIN "
        "FOR a IN SELECT id FROM flowpilot_account_ids() AS t(id) LOOP "
        "PERFORM rollups_rebuild_account(a); END LOOP; END $do$"
    )


def downgrade() -> None:
    if _adopted():
        op.execute(f"DELETE FROM {_ADOPTION_MARKER} WHERE kind = 'backfill_pending'")
    op.execute("DROP TRIGGER rollup_accounts_timezone ON accounts")
    op.execute("DROP FUNCTION rollup_accounts_timezone()")
    for operation in reversed(_OPERATIONS):
        for table in ("psa_activity_log", "ai_sessions"):
            name = f"rollup_{table}_{operation.lower()}"
            op.execute(f"DROP TRIGGER {name} ON {table}")
            op.execute(f"DROP FUNCTION {name}()")
    op.execute("DROP FUNCTION rollups_rebuild_account(uuid)")
    op.execute("DROP FUNCTION rollup_zone(text)")
    for table in reversed(_TABLES):
        op.drop_table(table)
