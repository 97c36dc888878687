"""Repairing a product database adopted by the earlier scheme of row-level security.

Earlier releases adopted the product's tables by enabling and forcing row-level
security on them, with a `tenant_isolation` policy on `app.current_account_id` for every
role where the table had no policy of its own, and recorded each change in
`analytics_adoption` (kinds `rls_enabled`, `rls_forced`, `policy`). Every product role
that does not set that variable then saw no row and could write none. Today's scheme
(persistence.operations.product_rls) binds only the analytics' group.

A table is recognised as left by the earlier scheme only when the record and the
catalog agree: the recorded `tenant_isolation` is there with the expression the
earlier adoption wrote, for every role, permissive, for every command, and row-level
security is forced. It is then repaired in one short transaction: today's policies are
added, `tenant_isolation` goes, FORCE is taken back where the earlier adoption added it,
and where the earlier adoption had enabled row-level security it stays on (it binds the
analytics' role) with `flowpilot_analytics_others`, which gives every other role every
row, as `--enable-row-security` does. The records are rewritten with the same
transaction, so a run that stops resumes with the tables not yet repaired and a second
run finds nothing to do. Anything else (another expression, a recorded policy that is
gone, FORCE already off) is refused, one line per table, before anything changes.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.engine import Connection

from persistence.operations.migrate import ADOPTION_MARKER
from persistence.operations.product_rls import (
    ANALYTICS_GROUP,
    BOUND_POLICY,
    OTHERS_POLICY,
    TENANT_POLICY,
    policy_sql,
)

LEGACY_POLICY = "tenant_isolation"
LEGACY_KINDS = ("rls_enabled", "rls_forced", "policy")


class LegacyPolicy(NamedTuple):
    """A `tenant_isolation` policy as the catalog has it."""

    public: bool
    permissive: bool
    command: str
    using: str | None
    check: str | None


class LegacyTable(NamedTuple):
    """What the catalog and the adoption's record say about one product table."""

    table: str
    enabled: bool
    forced: bool
    legacy_policy: LegacyPolicy | None
    policies: frozenset[str]
    recorded: frozenset[str]


class Repair(NamedTuple):
    """One table's repair: its statements run in one transaction, and what it means."""

    table: str
    statements: tuple[str, ...]
    description: str


def _expected(table: str) -> set[str]:
    """The earlier adoption's expression as pg_get_expr prints it (with or without the
    missing_ok argument, which releases differed on)."""
    key = "id" if table == "accounts" else "account_id"
    return {
        f"({key} = (current_setting('app.current_account_id'::text{ok}))::uuid)"
        for ok in ("", ", true")
    }


def read_legacy(connection: Connection, tables: tuple[str, ...]) -> list[LegacyTable]:
    """The product tables of an adopted database with a record of the earlier scheme."""
    marker = connection.execute(text(f"SELECT to_regclass('public.{ADOPTION_MARKER}')")).scalar()
    if marker is None:
        return []
    recorded: dict[str, set[str]] = {}
    rows = connection.execute(
        text(f"SELECT subject, kind FROM {ADOPTION_MARKER} WHERE kind = ANY(:kinds)"),
        {"kinds": list(LEGACY_KINDS)},
    )
    for subject, kind in rows:
        recorded.setdefault(subject, set()).add(kind)
    if not recorded:
        return []
    catalog = connection.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "coalesce(array_agg(p.polname::text) FILTER (WHERE p.oid IS NOT NULL), '{}') "
            "FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid "
            "WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY(:names) "
            "GROUP BY c.relname, c.relrowsecurity, c.relforcerowsecurity ORDER BY c.relname"
        ),
        {"names": list(tables)},
    ).all()
    legacy = {
        row[0]: LegacyPolicy(list(row[1]) == [0], *row[2:])
        for row in connection.execute(
            text(
                "SELECT c.relname, p.polroles::oid[], p.polpermissive, p.polcmd::text, "
                "pg_get_expr(p.polqual, p.polrelid), "
                "pg_get_expr(p.polwithcheck, p.polrelid) FROM pg_policy p "
                "JOIN pg_class c ON c.oid = p.polrelid "
                "WHERE c.relnamespace = 'public'::regnamespace AND p.polname = :name"
            ),
            {"name": LEGACY_POLICY},
        )
    }
    found = [
        LegacyTable(
            table,
            enabled,
            forced,
            legacy.get(table),
            frozenset(policies),
            frozenset(recorded.get(table, ())),
        )
        for table, enabled, forced, policies in catalog
    ]
    # The tables with nothing recorded first: once the last record is gone the database
    # is no longer recognised, so every table must have today's policies by then.
    return sorted(found, key=lambda state: (bool(state.recorded), state.table))


def _found(state: LegacyTable) -> str:
    if state.legacy_policy is None:
        policy = f"no policy {LEGACY_POLICY}"
    else:
        public, permissive, command, using, check = state.legacy_policy
        policy = (
            f"policy {LEGACY_POLICY} {'for every role' if public else 'for some roles'}, "
            f"{'permissive' if permissive else 'restrictive'}, command {command}, "
            f"USING {using}, WITH CHECK {check}"
        )
    return f"{policy}, row-level security {'forced' if state.forced else 'not forced'}"


def _refusal(state: LegacyTable, wanted: str) -> str:
    return (
        f"{state.table}: an earlier adoption recorded {wanted}, found {_found(state)}: not what "
        f"it left, so it is not repaired; make {state.table} as the product needs it (e.g. "
        f"`DROP POLICY {LEGACY_POLICY} ON {state.table}` if the product does not use it, "
        f"`DELETE FROM {ADOPTION_MARKER} WHERE subject = '{state.table}' AND kind IN "
        "('policy', 'rls_forced', 'rls_enabled')` once it is), then run migrate again"
    )


def _record(kind: str, table: str) -> str:
    return (
        f"INSERT INTO {ADOPTION_MARKER} (kind, subject) VALUES ('{kind}', '{table}') "
        "ON CONFLICT DO NOTHING"
    )


def _bind_only(state: LegacyTable, group: str) -> Repair | None:
    """A table the earlier adoption left as the product had it: today's policies only."""
    table = state.table
    statements: list[str] = []
    for kind, name in (("policy_bound", BOUND_POLICY), ("policy_tenant", TENANT_POLICY)):
        if name not in state.policies:
            statements += [policy_sql(kind, table, group), _record(kind, table)]
    if not statements:
        return None
    return Repair(
        table,
        tuple(statements),
        f"add {BOUND_POLICY} and {TENANT_POLICY} on {table} (for members of {group} only, "
        f"which stay bound to one account): nothing changes for the product's roles on {table}",
    )


def _repair(state: LegacyTable, group: str) -> Repair:
    table = state.table
    statements: list[str] = []
    words: list[str] = []
    for kind, name in (("policy_bound", BOUND_POLICY), ("policy_tenant", TENANT_POLICY)):
        if name not in state.policies:
            statements.append(policy_sql(kind, table, group))
        statements.append(_record(kind, table))
    # The product's own policies: ours, earlier and today's, aside.
    own = sorted(state.policies - {LEGACY_POLICY, BOUND_POLICY, TENANT_POLICY, OTHERS_POLICY})
    others = "rls_enabled" in state.recorded and not own
    if others:
        # Row-level security stays on: it is what binds the analytics' role here.
        if OTHERS_POLICY not in state.policies:
            statements.append(policy_sql("policy_others", table, group))
        statements += [_record("policy_others", table), _record("row_security", table)]
        words.append(
            f"add policy {OTHERS_POLICY} (every role outside {group} sees and changes every "
            "row; row-level security stays on, not forced)"
        )
    if "policy" in state.recorded:
        statements.append(f"DROP POLICY {LEGACY_POLICY} ON {table}")
        words.append(f"drop policy {LEGACY_POLICY} (it applied to every role)")
    if "rls_forced" in state.recorded:
        statements.append(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        words.append("stop forcing row-level security (its owner is no longer bound)")
    statements.append(
        f"DELETE FROM {ADOPTION_MARKER} WHERE subject = '{table}' "
        "AND kind IN ('policy', 'rls_forced', 'rls_enabled')"
    )
    words.append(f"add {BOUND_POLICY} and {TENANT_POLICY} (for members of {group} only)")
    if others:
        effect = (
            f"product roles will again see all rows of {table} and may write any row of it, "
            "as before the earlier adoption"
        )
    elif "rls_enabled" in state.recorded:
        # Off before, with policies: turning it off again would unbind the analytics' role.
        effect = (
            f"row-level security stays on, so the product's own policies ({', '.join(own)}) "
            f"keep applying to its roles on {table}, as since the earlier adoption"
        )
    elif "policy" in state.recorded:
        # It was on, without a policy of the product's: only its owner saw rows then.
        given = ", ".join(own) if own else "none: it has none, so only its owner sees rows"
        effect = (
            f"product roles see the rows of {table} the product's own policies give them "
            f"({given}), as before the earlier adoption"
        )
    else:
        effect = (
            f"product roles keep the rows of {table} the product's own policies give them, "
            "and its owner is no longer bound by them, as before the earlier adoption"
        )
    description = (
        f"repair {table} as an earlier adoption left it: {'; '.join(words)}: {effect}; "
        f"members of {group} stay bound to one account"
    )
    return Repair(table, tuple(statements), description)


# The API's roles as earlier releases' create-app-role made them: the roles granted the
# account-id look-up (0007 took it from PUBLIC) or reading the PSA outbox (0007 granted
# the look-up to those), which the product's roles never are.
_API_ROLES_SQL = """
    SELECT DISTINCT r.rolname FROM (
        SELECT acl.grantee, f.proowner AS owner FROM pg_proc f
        CROSS JOIN LATERAL aclexplode(f.proacl) AS acl
        WHERE f.oid = to_regprocedure('public.flowpilot_account_ids()')
          AND acl.privilege_type = 'EXECUTE'
        UNION
        SELECT acl.grantee, c.relowner FROM pg_class c
        CROSS JOIN LATERAL aclexplode(c.relacl) AS acl
        WHERE c.oid = to_regclass('public.psa_outbox') AND acl.privilege_type = 'SELECT'
    ) AS granted JOIN pg_roles r ON r.oid = granted.grantee
    WHERE r.oid <> granted.owner AND NOT r.rolsuper AND NOT r.rolbypassrls
      AND NOT EXISTS (
          SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
          WHERE g.rolname = :group AND m.member = r.oid)
    ORDER BY r.rolname
"""


def unjoined_api_roles(connection: Connection, group: str = ANALYTICS_GROUP) -> list[str]:
    """The API's roles outside the group: today's policies would not bind them, so the
    repair makes them members before the earlier policy goes (`create-app-role` would,
    but a service may be running as one meanwhile)."""
    return list(connection.execute(text(_API_ROLES_SQL), {"group": group}).scalars())


def repairs(
    connection: Connection, tables: tuple[str, ...], group: str = ANALYTICS_GROUP
) -> tuple[list[Repair], list[str]]:
    """Each table's repair, and one refusal line per table whose state is not exactly
    what the earlier adoption left (then nothing should run)."""
    found: list[Repair] = []
    refusals: list[str] = []
    for state in read_legacy(connection, tables):
        if "policy" in state.recorded:
            policy = state.legacy_policy
            exact = (
                policy is not None
                and policy.public
                and policy.permissive
                and policy.command == "*"
                and policy.using in _expected(state.table)
                and policy.check in _expected(state.table)
            )
            if not exact or not state.forced:
                refusals.append(
                    _refusal(state, f"policy {LEGACY_POLICY} and forced row-level security")
                )
                continue
        elif state.legacy_policy is not None:
            refusals.append(_refusal(state, f"no policy {LEGACY_POLICY} of its own"))
            continue
        if "rls_forced" in state.recorded and not state.forced:
            refusals.append(_refusal(state, "forced row-level security"))
            continue
        if not state.recorded:
            if not state.enabled:
                # The earlier adoption enabled it everywhere: someone has changed it since.
                refusals.append(_refusal(state, "row-level security enabled"))
                continue
            bind = _bind_only(state, group)
            found += [bind] if bind is not None else []
            continue
        found.append(_repair(state, group))
    return found, refusals
