"""The migrations build the contract's schema, reverse exactly, keep data and enforce it.

Schema tests migrate their own empty database; the constraint tests use the shared
head database inside transactions that are always rolled back.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.engine import create_engine
from persistence.models import ALIAS_TABLES, TENANT_TABLES, Base
from persistence.models.rollups import ROLLUP_TABLES
from persistence.models.versions import VERSION_TABLES
from persistence.models.write import WRITE_TABLES
from persistence.operations import migrate

BASELINE = "0001_baseline"
HEAD = "0016_rollup_chunk_costs"

BASELINE_COLUMNS: dict[str, set[str]] = {
    "accounts": {"id", "name", "timezone", "created_at"},
    "users": {"id", "account_id", "email", "role", "created_at"},
    "trees": {"id", "account_id", "name", "category", "status", "created_at"},
    "ai_sessions": {
        "id",
        "account_id",
        "user_id",
        "session_type",
        "problem_domain",
        "status",
        "confidence_tier",
        "matched_flow_id",
        "match_confidence",
        "started_at",
        "resolved_at",
        "rating",
        "psa_ticket_id",
        "created_at",
    },
}
HEAD_COLUMNS: dict[str, set[str]] = {
    **BASELINE_COLUMNS,
    "trees": BASELINE_COLUMNS["trees"] | {"usage_count", "success_rate", "last_matched_at"},
    "psa_activity_log": {
        "id",
        "account_id",
        "session_id",
        "activity_type",
        "hours_logged",
        "psa_ticket_id",
        "provider",
        "external_id",
        "created_at",
    },
    "psa_connections": {
        "account_id",
        "provider",
        "site",
        "codebase",
        "company_id",
        "public_key",
        "private_key_encrypted",
        "client_id",
        "default_member_id",
        "created_at",
        "updated_at",
    },
    "psa_outbox": {
        "id",
        "account_id",
        "session_id",
        "activity_type",
        "provider",
        "psa_ticket_id",
        "hours_logged",
        "payload",
        "idempotency_key",
        "state",
        "external_id",
        "attempts",
        "last_error",
        "created_at",
        "updated_at",
        "completed_at",
    },
}
ROLLUP_COLUMNS: dict[str, set[str]] = {
    "rollup_session_blocks": {
        *("account_id", "level", "block", "domain_key", "spelling", "sessions", "resolved"),
        *("escalated", "guided", "exploring", "discovery", "resolution_count"),
        *("resolution_minutes", "rating_sum", "rating_count", "linked", "doc_pushed"),
        "time_logged",
    },
    "rollup_flow_blocks": {
        *("account_id", "level", "block", "flow_id", "usage", "resolved", "guided"),
        *("confidence_sum", "confidence_count"),
    },
    "rollup_psa_days": {"account_id", "day", "time_entries", "hours", "notes", "status_updates"},
    "rollup_psa_time_sessions": {"account_id", "session_id", "day", "entries"},
    "rollup_psa_time_chains": {"account_id", "day", "prev_day", "sessions"},
    "rollup_session_pushes": {"account_id", "session_id", "notes", "time_entries"},
}
HEAD_COLUMNS.update(ROLLUP_COLUMNS)
# Accounts whose rollups are being built (0011): RLS enabled, not forced (see the model).
BUILDS = "rollup_builds"
HEAD_COLUMNS[BUILDS] = {"account_id", "built_through"}
HEAD_COLUMNS.update(
    {"account_data_versions": {"account_id", "version"}, "data_version_epoch": {"epoch"}}
)
HEAD_COLUMNS.update(
    {
        "domain_aliases": {
            *("account_id", "alias_key", "spelling", "target_key", "created_at", "created_by"),
        },
        "domain_alias_events": {"id", "account_id", "alias_key", "target_key", "action"}
        | {"user_id", "at"},
    }
)
ALIAS_INDEXES = {
    "domain_aliases_pkey",
    "domain_alias_events_pkey",
    "ix_domain_aliases_target",
    "ix_domain_alias_events_pair",
}
ROLLUP_INDEXES = {f"{table}_pkey" for table in (*ROLLUP_TABLES, BUILDS)}
VERSION_INDEXES = {f"{table}_pkey" for table in VERSION_TABLES}
WRITE_INDEXES = {
    "psa_connections_pkey",
    "psa_outbox_pkey",
    "uq_psa_outbox_idempotency",
    "ix_psa_outbox_state_created",
    "ix_psa_outbox_session",
}
ANALYTICS_INDEXES = {
    "ix_ai_sessions_account_domain_key_started",
    "ix_ai_sessions_account_flow_started_id",
    "ix_ai_sessions_matched_flow",
    "ix_ai_sessions_rollup_build",
    "ix_psa_activity_log_account_created",
    "ix_psa_activity_log_session",
    "ix_trees_account_category_key",
    "ix_trees_account_category_key_name",
}


@pytest.fixture
async def fresh_engine(empty_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(empty_database_url, pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def upgrade_to(engine: AsyncEngine, revision: str) -> None:
    """Upgrade as a deployment does: step by step, under the lock timeout."""
    await migrate.upgrade_engine(engine, revision)


async def downgrade_to(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as connection:
        await migrate.downgrade(connection, revision)


async def table_columns(engine: AsyncEngine) -> dict[str, set[str]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name <> 'alembic_version'"
            )
        )
        columns: dict[str, set[str]] = {}
        for table, column in rows:
            columns.setdefault(table, set()).add(column)
        return columns


_CATALOG_QUERIES = {
    "columns": """
        SELECT table_name, column_name, data_type, is_nullable, column_default
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> 'alembic_version'""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace
          AND conrelid <> 'alembic_version'::regclass""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename <> 'alembic_version'""",
    "policies": """
        SELECT tablename, policyname, cmd, qual, with_check FROM pg_policies
        WHERE schemaname = 'public'""",
    "rls": """
        SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class
        WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
          AND relname <> 'alembic_version'""",
}


async def catalog(engine: AsyncEngine) -> dict[str, set[tuple[Any, ...]]]:
    """Everything a migration defines, as comparable sets of catalog rows."""
    async with engine.connect() as connection:
        return {
            name: {tuple(row) for row in await connection.execute(text(sql))}
            for name, sql in _CATALOG_QUERIES.items()
        }


def _model_differences(connection: Connection) -> list[Any]:
    """What Alembic finds between the models (persistence/models) and the database.

    It compares tables, columns, types, server defaults, indexes and unique and foreign
    keys. Left out: the expression indexes it cannot compare faithfully
    (`migrate.include_object`), and what exists only in the migrations and that it does
    not read at all: functions, triggers, row-level security and its policies, check
    constraints (the catalog comparisons and the RLS and constraint tests here cover those).
    """
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_object": migrate.include_object,
        },
    )
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_downgrade_upgrade_builds_the_contract_tables(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade_to(fresh_engine, "head")
    assert await table_columns(fresh_engine) == HEAD_COLUMNS
    first_head = await catalog(fresh_engine)

    await downgrade_to(fresh_engine, "base")
    assert await table_columns(fresh_engine) == {}
    async with fresh_engine.connect() as connection:
        assert await migrate.current_revision(connection) is None

    await upgrade_to(fresh_engine, "head")
    assert await table_columns(fresh_engine) == HEAD_COLUMNS
    assert await catalog(fresh_engine) == first_head
    async with fresh_engine.connect() as connection:
        assert await migrate.current_revision(connection) == HEAD == migrate.head_revision()


async def test_baseline_is_the_pre_analytics_schema_and_analytics_downgrade_restores_it(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade_to(fresh_engine, BASELINE)
    assert await table_columns(fresh_engine) == BASELINE_COLUMNS
    baseline = await catalog(fresh_engine)
    baseline_indexes = {name for _table, name, _definition in baseline["indexes"]}
    assert baseline_indexes.isdisjoint(ANALYTICS_INDEXES)
    assert {"ix_ai_sessions_account_started", "ix_ai_sessions_user", "ix_trees_account_id"} <= (
        baseline_indexes
    )

    await upgrade_to(fresh_engine, "head")
    head_indexes = {name for _table, name, _definition in (await catalog(fresh_engine))["indexes"]}
    analytics_keys = {"psa_activity_log_pkey", "uq_psa_activity_log_push"}
    assert head_indexes - baseline_indexes == (
        ANALYTICS_INDEXES
        | analytics_keys
        | WRITE_INDEXES
        | ROLLUP_INDEXES
        | VERSION_INDEXES
        | ALIAS_INDEXES
    )

    await downgrade_to(fresh_engine, BASELINE)
    assert await catalog(fresh_engine) == baseline


async def test_models_match_the_migrated_head_schema(fresh_engine: AsyncEngine) -> None:
    await upgrade_to(fresh_engine, BASELINE)
    async with fresh_engine.connect() as connection:
        differences = await connection.run_sync(_model_differences)
    # The comparison does see gaps: at the baseline the analytics additions are missing.
    added = {diff[1].name for diff in differences if diff[0] == "add_table"}
    assert added == {
        "psa_activity_log",
        *WRITE_TABLES,
        *ROLLUP_TABLES,
        BUILDS,
        *VERSION_TABLES,
        *ALIAS_TABLES,
    }
    added_columns = {
        (diff[2], diff[3].name)
        for diff in differences
        if isinstance(diff, tuple) and diff[0] == "add_column"
    }
    assert added_columns == {
        ("trees", "usage_count"),
        ("trees", "success_rate"),
        ("trees", "last_matched_at"),
    }
    added_indexes = {
        diff[1].name for diff in differences if isinstance(diff, tuple) and diff[0] == "add_index"
    }
    assert added_indexes == (ANALYTICS_INDEXES - migrate.EXPRESSION_INDEXES) | {
        n for n in WRITE_INDEXES | ALIAS_INDEXES if n.startswith("ix_")
    }

    await upgrade_to(fresh_engine, "head")
    async with fresh_engine.connect() as connection:
        assert await connection.run_sync(_model_differences) == []


async def test_analytics_revision_keeps_existing_rows(fresh_engine: AsyncEngine) -> None:
    await upgrade_to(fresh_engine, BASELINE)
    account, user, flow, session = (uuid.uuid4() for _ in range(4))
    started = datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
    resolved = datetime(2024, 3, 5, 10, 15, tzinfo=UTC)
    async with fresh_engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO accounts (id, name, timezone) VALUES (:id, 'Acme MSP', 'Europe/Paris')"
            ),
            {"id": account},
        )
        await connection.execute(
            text(
                "INSERT INTO users (id, account_id, email, role) "
                "VALUES (:id, :account, 'ana@acme.test', 'engineer')"
            ),
            {"id": user, "account": account},
        )
        await connection.execute(
            text(
                "INSERT INTO trees (id, account_id, name, category) "
                "VALUES (:id, :account, 'Printer offline', 'printing')"
            ),
            {"id": flow, "account": account},
        )
        await connection.execute(
            text(
                "INSERT INTO ai_sessions (id, account_id, user_id, problem_domain, status, "
                "confidence_tier, matched_flow_id, match_confidence, started_at, resolved_at, "
                "rating, psa_ticket_id) VALUES (:id, :account, :user, 'printing', 'resolved', "
                "'guided', :flow, 0.91, :started, :resolved, 4, 'T-1001')"
            ),
            {
                "id": session,
                "account": account,
                "user": user,
                "flow": flow,
                "started": started,
                "resolved": resolved,
            },
        )

    await upgrade_to(fresh_engine, "head")

    async with fresh_engine.connect() as connection:
        accounts = (await connection.execute(text("SELECT id, name, timezone FROM accounts"))).all()
        users = (
            await connection.execute(text("SELECT id, account_id, email, role FROM users"))
        ).all()
        trees = (
            await connection.execute(
                text(
                    "SELECT id, name, category, status, usage_count, success_rate, "
                    "last_matched_at FROM trees"
                )
            )
        ).all()
        sessions = (
            await connection.execute(
                text(
                    "SELECT id, session_type, status, confidence_tier, matched_flow_id, "
                    "match_confidence, started_at, resolved_at, rating, psa_ticket_id "
                    "FROM ai_sessions"
                )
            )
        ).all()
        activity = (await connection.execute(text("SELECT count(*) FROM psa_activity_log"))).one()

    assert [tuple(row) for row in accounts] == [(account, "Acme MSP", "Europe/Paris")]
    assert [tuple(row) for row in users] == [(user, account, "ana@acme.test", "engineer")]
    assert [tuple(row) for row in trees] == [
        (flow, "Printer offline", "printing", "published", 0, None, None)
    ]
    assert [tuple(row) for row in sessions] == [
        (session, "flowpilot", "resolved", "guided", flow, 0.91, started, resolved, 4, "T-1001")
    ]
    assert activity == (0,)


async def test_row_level_security_is_enabled_and_forced_on_every_tenant_table(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade_to(fresh_engine, "head")
    snapshot = await catalog(fresh_engine)
    # data_version_epoch holds one random id per database, nothing of any account.
    isolated = (
        *TENANT_TABLES,
        *WRITE_TABLES,
        *ROLLUP_TABLES,
        *ALIAS_TABLES,
        "account_data_versions",
    )
    assert snapshot["rls"] == {(table, True, True) for table in isolated} | {
        ("data_version_epoch", False, False),
        (BUILDS, True, False),
    }
    policies = {row[0]: row[1:] for row in snapshot["policies"]}
    assert set(policies) == {*isolated, BUILDS}
    for table, (name, command, using, with_check) in policies.items():
        key = "id" if table == "accounts" else "account_id"
        expected = f"({key} = (current_setting('app.current_account_id'::text, true))::uuid)"
        assert (name, command, using, with_check) == ("tenant_isolation", "ALL", expected, expected)


async def _seed_tenant(connection: AsyncConnection, account: uuid.UUID, name: str) -> None:
    """One row in every tenant table for `account`."""
    user, flow, session = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ids = {"account": account, "user": user, "flow": flow, "session": session, "name": name}
    for sql in (
        "INSERT INTO accounts (id, name) VALUES (:account, :name)",
        "INSERT INTO users (id, account_id, email, role) "
        "VALUES (:user, :account, :name || '@x.test', 'admin')",
        "INSERT INTO trees (id, account_id, name) VALUES (:flow, :account, :name)",
        "INSERT INTO ai_sessions (id, account_id, user_id, matched_flow_id, started_at) "
        "VALUES (:session, :account, :user, :flow, now())",
        "INSERT INTO psa_activity_log (id, account_id, session_id, activity_type, "
        "psa_ticket_id) VALUES (gen_random_uuid(), :account, :session, 'note_posted', :name)",
    ):
        params = {key: value for key, value in ids.items() if f":{key}" in sql}
        await connection.execute(text(sql), params)


async def _visible(connection: AsyncConnection) -> dict[str, set[uuid.UUID]]:
    """The account ids the current role can see, per tenant table."""
    visible: dict[str, set[uuid.UUID]] = {}
    for table in TENANT_TABLES:
        key = "id" if table == "accounts" else "account_id"
        rows = await connection.execute(text(f"SELECT {key} FROM {table}"))
        visible[table] = {row[0] for row in rows}
    return visible


async def test_row_level_security_shows_a_plain_role_only_its_bound_account(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade_to(fresh_engine, "head")
    first, second = uuid.uuid4(), uuid.uuid4()
    role = f"fp_rls_{uuid.uuid4().hex[:12]}"
    # Everything, the role included (CREATE ROLE is transactional), is rolled back.
    async with fresh_engine.connect() as connection:
        transaction = await connection.begin()
        try:
            await _seed_tenant(connection, first, "first")
            await _seed_tenant(connection, second, "second")
            await connection.execute(text(f"CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS"))
            await connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
            await connection.execute(
                text(f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO {role}")
            )
            # As the superuser (who bypasses RLS) both accounts are there.
            assert (await _visible(connection))["trees"] == {first, second}

            await connection.execute(text(f"SET LOCAL ROLE {role}"))
            assert await _visible(connection) == {table: set() for table in TENANT_TABLES}

            for account in (first, second):
                await connection.execute(
                    text("SELECT set_config('app.current_account_id', :account, true)"),
                    {"account": str(account)},
                )
                assert await _visible(connection) == {table: {account} for table in TENANT_TABLES}

            # WITH CHECK: bound to `second`, a row for `first` cannot be written.
            with pytest.raises(DBAPIError, match="row-level security"):
                async with connection.begin_nested():
                    await connection.execute(
                        text(
                            "INSERT INTO trees (id, account_id, name) VALUES (:id, :account, 'x')"
                        ),
                        {"id": uuid.uuid4(), "account": first},
                    )
        finally:
            await transaction.rollback()


@pytest.fixture
async def seeded(engine: AsyncEngine) -> AsyncIterator[tuple[AsyncConnection, dict[str, Any]]]:
    """A connection to the head database holding one own account, rolled back afterwards."""
    ids: dict[str, Any] = {
        "account": uuid.uuid4(),
        "user": uuid.uuid4(),
        "flow": uuid.uuid4(),
        "session": uuid.uuid4(),
    }
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            await _seed_tenant(connection, ids["account"], f"acct{ids['account'].hex[:8]}")
            for table, column in (
                ("users", "user"),
                ("trees", "flow"),
                ("ai_sessions", "session"),
            ):
                row = await connection.execute(
                    text(f"SELECT id FROM {table} WHERE account_id = :account"),
                    {"account": ids["account"]},
                )
                ids[column] = row.scalar_one()
            yield connection, ids
        finally:
            await transaction.rollback()


_BAD_ROWS = [
    pytest.param(
        "INSERT INTO users (id, account_id, email, role) "
        "VALUES (gen_random_uuid(), :account, 'o@x.test', 'owner')",
        "ck_users_role",
        id="user-role",
    ),
    pytest.param(
        "INSERT INTO trees (id, account_id, name, status) "
        "VALUES (gen_random_uuid(), :account, 'f', 'deleted')",
        "ck_trees_status",
        id="flow-status",
    ),
    pytest.param(
        "UPDATE trees SET usage_count = -1 WHERE id = :flow",
        "ck_trees_usage_count",
        id="usage-count",
    ),
    pytest.param(
        "UPDATE trees SET success_rate = 1.01 WHERE id = :flow",
        "ck_trees_success_rate",
        id="success-rate",
    ),
    pytest.param(
        "UPDATE ai_sessions SET status = 'done' WHERE id = :session",
        "ck_ai_sessions_status",
        id="session-status",
    ),
    pytest.param(
        "UPDATE ai_sessions SET session_type = 'chat' WHERE id = :session",
        "ck_ai_sessions_type",
        id="session-type",
    ),
    pytest.param(
        "UPDATE ai_sessions SET confidence_tier = 'certain' WHERE id = :session",
        "ck_ai_sessions_confidence_tier",
        id="confidence-tier",
    ),
    pytest.param(
        "UPDATE ai_sessions SET rating = 6 WHERE id = :session",
        "ck_ai_sessions_rating",
        id="rating-6",
    ),
    pytest.param(
        "UPDATE ai_sessions SET rating = 0 WHERE id = :session",
        "ck_ai_sessions_rating",
        id="rating-0",
    ),
    pytest.param(
        "UPDATE ai_sessions SET match_confidence = 1.5 WHERE id = :session",
        "ck_ai_sessions_match_confidence",
        id="match-confidence-1.5",
    ),
    pytest.param(
        "UPDATE ai_sessions SET match_confidence = -0.01 WHERE id = :session",
        "ck_ai_sessions_match_confidence",
        id="match-confidence-negative",
    ),
    pytest.param(
        "INSERT INTO psa_activity_log (id, account_id, activity_type, hours_logged, psa_ticket_id) "
        "VALUES (gen_random_uuid(), :account, 'time_entry_posted', -0.25, 'T-1')",
        "ck_psa_activity_log_hours",
        id="negative-hours",
    ),
    pytest.param(
        "INSERT INTO psa_activity_log (id, account_id, activity_type, psa_ticket_id) "
        "VALUES (gen_random_uuid(), :account, 'ticket_closed', 'T-1')",
        "ck_psa_activity_log_type",
        id="activity-type",
    ),
    pytest.param(
        "INSERT INTO users (id, account_id, email, role) "
        "SELECT gen_random_uuid(), account_id, email, 'engineer' FROM users WHERE id = :user",
        "uq_users_account_email",
        id="duplicate-email",
    ),
    pytest.param(
        "UPDATE ai_sessions SET matched_flow_id = gen_random_uuid() WHERE id = :session",
        "fk_ai_sessions_matched_flow",
        id="unknown-flow",
    ),
    pytest.param(
        "INSERT INTO trees (id, account_id, name) "
        "VALUES (gen_random_uuid(), gen_random_uuid(), 'f')",
        "fk_trees_account",
        id="unknown-account",
    ),
]


@pytest.mark.parametrize(("sql", "constraint"), _BAD_ROWS)
async def test_database_refuses_bad_data(
    seeded: tuple[AsyncConnection, dict[str, Any]], sql: str, constraint: str
) -> None:
    connection, ids = seeded
    params = {key: value for key, value in ids.items() if f":{key}" in sql}
    with pytest.raises(IntegrityError, match=constraint):
        async with connection.begin_nested():
            await connection.execute(text(sql), params)


async def test_a_retried_psa_push_is_logged_once(
    seeded: tuple[AsyncConnection, dict[str, Any]],
) -> None:
    connection, ids = seeded
    push = text(
        "INSERT INTO psa_activity_log (id, account_id, session_id, activity_type, hours_logged, "
        "psa_ticket_id, external_id) VALUES (gen_random_uuid(), :account, :session, "
        ":activity_type, 0.5, 'T-7', :external_id)"
    )
    first = {
        "account": ids["account"],
        "session": ids["session"],
        "activity_type": "time_entry_posted",
        "external_id": "CW-42",
    }
    await connection.execute(push, first)
    with pytest.raises(IntegrityError, match="uq_psa_activity_log_push"):
        async with connection.begin_nested():
            await connection.execute(push, first)
    # The same PSA record id under another activity type is a different push.
    await connection.execute(push, {**first, "activity_type": "note_posted"})
    count = await connection.execute(
        text(
            "SELECT count(*) FROM psa_activity_log "
            "WHERE account_id = :account AND external_id = 'CW-42'"
        ),
        {"account": ids["account"]},
    )
    assert count.scalar_one() == 2
