"""`migrate` on the product's own database: adopt its tables, add the analytics, go back.

Each test builds a database the way the product has it (tests/persistence/
product_database.py): no migration history, extra columns, other constraint and index
names, its own policies and rows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.engine import create_engine
from persistence.operations import adoption, migrate
from persistence.operations.backfill import backfill, pending_accounts
from persistence.operations.product_schema import PRODUCT_TABLES
from persistence.operations.roles import drop_app_role, ensure_app_role
from tests.graphql_client import running_app, settings_for_tests, token_for
from tests.persistence.product_database import create_product_tables

QUERIES = Path(__file__).resolve().parents[2] / "queries"
ACME = uuid.UUID("0000000a-0000-4000-8000-000000000001")
GLOBEX = uuid.UUID("0000000a-0000-4000-8000-000000000002")
PRINTER, VPN, OLD = (uuid.UUID(f"0000000b-0000-4000-8000-00000000000{n}") for n in (1, 2, 3))
ENGINEER = uuid.UUID("0000000c-0000-4000-8000-000000000001")
ANALYTICS_TABLES = {
    "psa_activity_log",
    "psa_connections",
    "psa_outbox",
    "rollup_session_blocks",
    "rollup_flow_blocks",
    "rollup_psa_days",
    "rollup_psa_time_sessions",
    "rollup_psa_time_chains",
    "rollup_builds",
    "rollup_session_pushes",
    "account_data_versions",
    "data_version_epoch",
    "domain_aliases",
    "domain_alias_events",
}


@pytest.fixture
async def product(empty_database_url: str) -> AsyncIterator[AsyncEngine]:
    """A database with the product's tables and rows, never migrated."""
    engine = create_engine(empty_database_url, pool_size=2, max_overflow=0)
    async with engine.begin() as connection:
        await create_product_tables(connection)
    yield engine
    await engine.dispose()


def _session(
    started: datetime,
    domain: str | None,
    status: str,
    *,
    account: uuid.UUID = ACME,
    tier: str | None = None,
    flow: uuid.UUID | None = None,
    confidence: float | None = None,
    minutes: int | None = None,
    rating: int | None = None,
    ticket: str | None = None,
    kind: str = "flowpilot",
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "account": account,
        "kind": kind,
        "domain": domain,
        "status": status,
        "tier": tier,
        "flow": flow,
        "confidence": confidence,
        "started": started,
        "resolved": None if minutes is None else started + timedelta(minutes=minutes),
        "rating": rating,
        "ticket": ticket,
    }


def product_rows(now: datetime) -> list[dict[str, Any]]:
    """Acme's sessions (Globex has one): five in the last 30 days, one assistant, one older."""
    t0 = (now - timedelta(days=3)).replace(microsecond=0)
    return [
        _session(
            t0,
            "Printing",
            "resolved",
            tier="guided",
            flow=PRINTER,
            confidence=0.9,
            minutes=30,
            rating=5,
            ticket="T-1",
        ),
        _session(
            t0 + timedelta(minutes=10),
            " printing ",
            "escalated",
            tier="exploring",
            flow=PRINTER,
            confidence=0.5,
            rating=3,
            ticket="",
        ),
        _session(
            t0,
            "Network",
            "resolved",
            tier="discovery",
            flow=VPN,
            confidence=0.3,
            minutes=90,
            ticket="T-2",
        ),
        _session(t0, "Email", "abandoned"),
        _session(t0, None, "active"),
        _session(t0, "Printing", "resolved", kind="assistant", minutes=5),
        _session(now - timedelta(days=60), "Printing", "resolved", flow=PRINTER, minutes=20),
        _session(t0, "Billing", "resolved", account=GLOBEX, minutes=15),
    ]


async def insert_product_rows(engine: AsyncEngine, now: datetime) -> None:
    statements = [
        "INSERT INTO accounts (id, name, timezone, plan) VALUES "
        f"('{ACME}', 'Acme MSP', 'UTC', 'enterprise'), ('{GLOBEX}', 'Globex', 'UTC', 'pro')",
        f"INSERT INTO users (id, account_id, email, display_name, role) VALUES "
        f"('{ENGINEER}', '{ACME}', 'ana@acme.test', 'Ana', 'engineer')",
        "INSERT INTO trees (id, account_id, name, category, status) VALUES "
        f"('{PRINTER}', '{ACME}', 'Printer offline', 'Printing', 'published'), "
        f"('{VPN}', '{ACME}', 'VPN reset', 'Network', 'draft'), "
        f"('{OLD}', '{ACME}', 'Old network flow', 'Network', 'archived')",
    ]
    async with engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))
        await connection.execute(
            text(
                "INSERT INTO ai_sessions (id, account_id, user_id, session_type, problem_domain, "
                "status, confidence_tier, matched_flow_id, match_confidence, started_at, "
                "resolved_at, rating, psa_ticket_id, transcript) VALUES (:id, :account, NULL, "
                ":kind, :domain, :status, :tier, :flow, :confidence, :started, :resolved, "
                ":rating, :ticket, 'chat log')"
            ),
            product_rows(now),
        )


async def adopt(engine: AsyncEngine, target: str = "head") -> adoption.Plan:
    async with engine.connect() as connection:
        return await connection.run_sync(adoption.adopt, target)


_SNAPSHOT = {
    "relations": "SELECT relname, relkind::text FROM pg_class "
    "WHERE relnamespace = 'public'::regnamespace",
    "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default "
    "FROM information_schema.columns WHERE table_schema = 'public'",
    "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
    "FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "policies": "SELECT tablename, policyname, cmd, qual, with_check FROM pg_policies "
    "WHERE schemaname = 'public'",
    "rls": "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
    "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'",
    "functions": "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace",
    "triggers": "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal",
    "accounts": "SELECT r::text FROM accounts r",
    "users": "SELECT r::text FROM users r",
    "trees": "SELECT r::text FROM trees r",
    "ai_sessions": "SELECT r::text FROM ai_sessions r",
}


async def snapshot(engine: AsyncEngine) -> dict[str, set[tuple[Any, ...]]]:
    """The whole public schema's catalog and every product row, as comparable sets."""
    async with engine.connect() as connection:
        return {
            name: {tuple(row) for row in await connection.execute(text(sql))}
            for name, sql in _SNAPSHOT.items()
        }


async def test_adoption_checks_then_adds_only_the_analytics_and_keeps_every_row(
    product: AsyncEngine,
) -> None:
    now = datetime.now(UTC)
    await insert_product_rows(product, now)
    before = await snapshot(product)

    async with product.connect() as connection:
        planned = await connection.run_sync(adoption.plan, "head")
    assert planned.adopting and planned.differences == [] and planned.accounts == 2
    assert [(a.kind, a.subject) for a in planned.additions] == [
        ("group_role", "flowpilot_analytics"),
        ("policy_bound", "accounts"),
        ("policy_tenant", "accounts"),
        ("policy_bound", "ai_sessions"),
        ("policy_tenant", "ai_sessions"),
        ("policy_bound", "trees"),
        ("policy_tenant", "trees"),
        ("policy_bound", "users"),
        ("policy_tenant", "users"),
        ("index", "ix_trees_account_id"),
        ("index", "ix_ai_sessions_user"),
    ]
    assert planned.revisions == [
        "0002_analytics",
        "0003_psa_write_paths",
        "0004_rollups",
        "0005_tree_category_key",
        "0006_flow_name_order_index",
        "0007_account_id_function_grants",
        "0008_data_versions",
        "0009_triggers_run_as_owner",
        "0010_definer_names_qualified",
        "0011_rollups_built_in_chunks",
        "0012_category_key_expression",
        "0013_session_domain_key_index",
        "0014_session_flow_evidence_index",
        "0015_domain_aliases",
        "0016_rollup_chunk_costs",
    ]
    assert await snapshot(product) == before  # planning changes nothing

    await adopt(product)
    after = await snapshot(product)
    async with product.connect() as connection:
        assert await migrate.current_revision(connection) == migrate.head_revision()
        assert await pending_accounts(connection) == 2
    tables = {name for name, kind in after["relations"] if kind == "r"}
    assert tables == {"accounts", "users", "trees", "ai_sessions", "integrations"} | (
        ANALYTICS_TABLES | {"alembic_version", "analytics_adoption"}
    )
    # The product's rows, extra columns included, are all still there.
    assert before["accounts"] == after["accounts"]
    assert before["users"] == after["users"]
    assert before["ai_sessions"] == after["ai_sessions"]
    assert len(after["trees"]) == 3
    # Its own policies and row-level security settings stay; ours apply to our group only.
    policies = {(table, name) for table, name, *_rest in after["policies"]}
    assert {p for p in policies if p[0] in PRODUCT_TABLES} == {
        ("accounts", "accounts_own"),
        ("users", "users_own"),
        ("ai_sessions", "sessions_own"),
        ("trees", "trees_own"),
    } | {
        (table, f"flowpilot_analytics_{kind}")
        for table in PRODUCT_TABLES
        for kind in ("bound", "tenant")
    }
    assert {row for row in after["rls"] if row[0] in PRODUCT_TABLES} == {
        ("accounts", True, True),
        ("users", True, False),
        ("trees", True, False),
        ("ai_sessions", True, True),
    }

    assert await backfill(product) == 2
    async with product.connect() as connection:
        assert await pending_accounts(connection) == 0
        counters = await connection.execute(
            text("SELECT id, usage_count, last_matched_at, success_rate FROM trees ORDER BY id")
        )
        t0 = (now - timedelta(days=3)).replace(microsecond=0)
        assert [tuple(row) for row in counters] == [
            # Three matches in 90 days (one 60 days old), two of them resolved.
            (PRINTER, 3, t0 + timedelta(minutes=10), 2 / 3),
            (VPN, 1, t0, 1.0),
            (OLD, 0, None, None),
        ]


async def _rollups(engine: AsyncEngine) -> dict[str, set[tuple[Any, ...]]]:
    async with engine.connect() as connection:
        return {
            table: {tuple(row) for row in await connection.execute(text(f"SELECT * FROM {table}"))}
            for table in sorted(ANALYTICS_TABLES)
            if table.startswith("rollup_")
        }


async def test_the_rollup_backfill_resumes_and_ends_equal_to_a_full_rebuild(
    product: AsyncEngine,
) -> None:
    now = datetime.now(UTC)
    await insert_product_rows(product, now)
    await adopt(product)

    assert await backfill(product, limit=1) == 1  # then stopped, as by an interruption
    async with product.connect() as connection:
        assert await pending_accounts(connection) == 1
        planned = await connection.run_sync(adoption.plan, "head")
    assert planned.describe() == [
        f"the database schema is at {migrate.head_revision()}: nothing to apply",
        "would then build the rollups of 1 existing accounts, each in chunks of sessions",
    ]
    # The product keeps writing meanwhile, also to the account not built yet (the triggers
    # add it to a partial rollup that its batch then replaces).
    async with product.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO ai_sessions (id, account_id, problem_domain, status, started_at) "
                "VALUES (gen_random_uuid(), :account, 'Billing', 'escalated', :started)"
            ),
            {"account": GLOBEX, "started": now - timedelta(days=1)},
        )
    built: list[str] = []
    assert await backfill(product, lambda batch: built.append(batch.describe())) == 1
    assert len(built) == 1 and built[0].startswith("rollups: 1/1 accounts built (account ")
    assert await backfill(product) == 0

    backfilled = await _rollups(product)
    async with product.begin() as connection:
        for account in (ACME, GLOBEX):
            await connection.execute(text("SELECT rollups_rebuild_account(:a)"), {"a": account})
    assert await _rollups(product) == backfilled
    globex_days = [
        row for row in backfilled["rollup_session_blocks"] if row[0] == GLOBEX and row[1] == 0
    ]
    # (domain_key, sessions, resolved, escalated) per day: the old row and the new one.
    assert sorted((row[3], row[5], row[6], row[7]) for row in globex_days) == [
        ("billing", 1, 0, 1),
        ("billing", 1, 1, 0),
    ]


def _query(name: str) -> str:
    return (QUERIES / f"{name}.graphql").read_text()


async def test_every_tab_answers_exactly_over_the_adopted_rows(
    product: AsyncEngine, empty_database_url: str
) -> None:
    now = datetime.now(UTC)
    await insert_product_rows(product, now)
    await adopt(product)
    await backfill(product)
    token = token_for(ACME)
    t0 = (now - timedelta(days=3)).replace(microsecond=0)

    async with running_app(settings_for_tests(empty_database_url)) as api:
        overview = (await api.data(_query("overview"), token=token))["overview"]
        coverage = (await api.data(_query("coverage"), token=token))["coverage"]
        quality = (await api.data(_query("flow-quality"), token=token))["flowQuality"]
        psa = (await api.data(_query("psa"), token=token))["psaActivity"]

    # Five FlowPilot sessions in the last 30 days (the assistant and the older one not).
    assert {k: overview[k] for k in ("sessionCount", "resolutionRate", "escalationRate")} == {
        "sessionCount": 5,
        "resolutionRate": 0.4,
        "escalationRate": 0.2,
    }
    assert (overview["guidedRate"], overview["mttrMinutes"], overview["avgRating"]) == (
        0.2,
        60.0,
        4.0,
    )
    assert overview["confidenceTiers"] == {
        "guided": 1,
        "exploring": 1,
        "discovery": 1,
        "unknown": 2,
    }
    assert overview["domains"] == [
        {
            "name": "Printing",
            "sessionCount": 2,
            "resolutionRate": 0.5,
            "escalationRate": 0.5,
            "guidedRate": 0.5,
            "avgResolutionMinutes": 30.0,
        },
        {
            "name": "Email",
            "sessionCount": 1,
            "resolutionRate": 0.0,
            "escalationRate": 0.0,
            "guidedRate": 0.0,
            "avgResolutionMinutes": None,
        },
        {
            "name": "Network",
            "sessionCount": 1,
            "resolutionRate": 1.0,
            "escalationRate": 0.0,
            "guidedRate": 0.0,
            "avgResolutionMinutes": 90.0,
        },
    ]

    assert (coverage["totalDomains"], coverage["unmappedSessionCount"]) == (3, 1)
    assert [(d["name"], d["flowCount"], d["sessionCount"]) for d in coverage["domains"]] == [
        ("Printing", 1, 2),
        ("Email", 0, 1),
        ("Network", 1, 1),
    ]
    # Printing escalates 50% (> 25%), Network is 0% guided (< 30%), Email has no flow.
    assert sorted(
        (g["name"], g["sessionCount"], g["flowCount"]) for g in coverage["knowledgeGaps"]
    ) == [
        ("Email", 1, 0),
        ("Network", 1, 1),
        ("Printing", 2, 1),
    ]

    assert (quality["totalFlows"], quality["needsAttentionCount"]) == (2, 0)
    rows = {
        flow["flow"]["name"]: (
            flow["usageCount"],
            flow["flow"]["totalUsageCount"],
            flow["successRate"],
            flow["guidedRate"],
            flow["avgConfidence"],
            datetime.fromisoformat(flow["flow"]["lastMatchedAt"]),
            flow["needsAttention"],
        )
        for flow in quality["flows"]
    }
    assert rows == {
        "Printer offline": (2, 3, 0.5, 0.5, 0.7, t0 + timedelta(minutes=10), False),
        "VPN reset": (1, 1, 1.0, 0.0, 0.3, t0, False),
    }

    assert (psa["totalTimeEntries"], psa["totalHoursLogged"], psa["avgHoursPerSession"]) == (
        0,
        0.0,
        None,
    )
    assert psa["pushFunnel"] == {
        "totalSessions": 5,
        "linkedToTicket": 2,  # T-1 and T-2; an empty ticket id does not count
        "docPushed": 0,
        "timeEntryLogged": 0,
        "linkedRate": 0.4,
        "docPushedRate": 0.0,
        "timeEntryRate": None,
    }
    assert len(psa["dailyTrend"]) == 30


async def test_a_mismatching_database_is_refused_with_one_line_per_difference(
    product: AsyncEngine,
) -> None:
    async with product.begin() as connection:
        for statement in (
            "ALTER TABLE trees ALTER COLUMN account_id DROP NOT NULL",
            "ALTER TABLE ai_sessions RENAME COLUMN resolved_at TO closed_at",
            "ALTER TABLE ai_sessions ALTER COLUMN rating TYPE integer",
            "ALTER TABLE ai_sessions DROP CONSTRAINT ai_sessions_matched_flow_id_fkey",
            "DROP INDEX users_email_per_account",
            "ALTER TABLE users DROP CONSTRAINT users_role_check",
            "ALTER TABLE trees ADD COLUMN usage_count bigint",
        ):
            await connection.execute(text(statement))
    before = await snapshot(product)

    with pytest.raises(adoption.AdoptionRefused) as refused:
        await adopt(product)

    assert refused.value.lines == [
        "trees.account_id: expected uuid not null, found uuid null",
        "ai_sessions.resolved_at: expected timestamp with time zone, found no column",
        "ai_sessions.rating: expected smallint, found integer null",
        "ai_sessions.matched_flow_id: expected foreign key to trees(id), found none",
        "users.(account_id, email): expected unique, found none",
        "users.role: expected CHECK ((role = ANY (ARRAY['engineer'::text, 'team_admin'::text, "
        "'admin'::text]))), found none",
        "trees.usage_count: expected absent (the analytics add it), found bigint",
    ]
    assert await snapshot(product) == before


async def test_downgrading_an_adopted_database_leaves_the_product_tables_as_they_were(
    product: AsyncEngine,
) -> None:
    await insert_product_rows(product, datetime.now(UTC))
    before = await snapshot(product)
    await adopt(product)
    await backfill(product)

    async with product.begin() as connection:
        await migrate.downgrade(connection, adoption.BASELINE)
    at_baseline = await snapshot(product)
    tables = {name for name, kind in at_baseline["relations"] if kind == "r"}
    assert ANALYTICS_TABLES.isdisjoint(tables)
    assert {"alembic_version", "analytics_adoption", "trees"} <= tables
    assert at_baseline["ai_sessions"] == before["ai_sessions"]

    async with product.begin() as connection:
        await migrate.downgrade(connection, "base")
    assert await snapshot(product) == before

    # And it can be adopted again.
    await adopt(product)
    async with product.connect() as connection:
        assert await migrate.current_revision(connection) == migrate.head_revision()


async def test_the_app_role_reads_an_adopted_database_only_through_its_account(
    product: AsyncEngine,
) -> None:
    await insert_product_rows(product, datetime.now(UTC))
    await adopt(product)
    await backfill(product)
    role = f"fp_adopted_{uuid.uuid4().hex[:10]}"
    async with product.begin() as connection:
        await ensure_app_role(connection, role, None)
    try:
        async with product.connect() as connection:
            transaction = await connection.begin()
            await connection.execute(text(f"SET LOCAL ROLE {role}"))
            await connection.execute(
                text("SELECT set_config('app.current_account_id', :a, true)"), {"a": str(ACME)}
            )
            counts = await connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM ai_sessions), (SELECT count(*) FROM trees), "
                    "(SELECT sum(sessions) FROM rollup_session_blocks WHERE level = 0), "
                    "(SELECT count(*) FROM analytics_adoption)"
                )
            )
            # Acme's 7 sessions (6 FlowPilot in its rollups), its 3 flows; the record (the
            # baseline, the group, two policies on each of 4 tables, 2 indexes) reads.
            assert tuple(counts.one()) == (7, 3, 6, 12)
            with pytest.raises(DBAPIError, match="permission denied"):
                async with connection.begin_nested():
                    await connection.execute(
                        text("DELETE FROM analytics_adoption WHERE kind = 'baseline'")
                    )
            await transaction.rollback()
    finally:
        async with product.begin() as connection:
            await drop_app_role(connection, role)


async def test_a_write_in_flight_during_a_batch_is_counted_once(product: AsyncEngine) -> None:
    now = datetime.now(UTC)
    await insert_product_rows(product, now)
    await adopt(product)
    await backfill(product, limit=1)  # Acme; Globex still queued

    # A product transaction writes to Globex (its trigger already touched the rollups) and
    # has not committed when Globex's batch starts: the batch waits for it, then counts it.
    async with product.connect() as writer:
        transaction = await writer.begin()
        await writer.execute(
            text(
                "INSERT INTO ai_sessions (id, account_id, problem_domain, status, started_at) "
                "VALUES (gen_random_uuid(), :account, 'Billing', 'resolved', :started)"
            ),
            {"account": GLOBEX, "started": now - timedelta(days=3)},
        )
        batch = asyncio.create_task(backfill(product))
        await asyncio.sleep(0.5)
        assert not batch.done()  # waiting for the writer
        await transaction.commit()
        assert await asyncio.wait_for(batch, timeout=30) == 1

    backfilled = await _rollups(product)
    async with product.begin() as connection:
        await connection.execute(text("SELECT rollups_rebuild_account(:a)"), {"a": GLOBEX})
    assert await _rollups(product) == backfilled
    globex = [row for row in backfilled["rollup_session_blocks"] if row[0] == GLOBEX]
    # Both Billing sessions (the adopted one and the one in flight) on the same day.
    assert {(row[1], row[5], row[6]) for row in globex if row[1] == 0} == {(0, 2, 2)}


async def test_a_role_bound_by_row_level_security_may_not_adopt(product: AsyncEngine) -> None:
    role = f"fp_owner_{uuid.uuid4().hex[:10]}"
    async with product.connect() as connection:
        transaction = await connection.begin()
        try:
            await connection.execute(text(f"CREATE ROLE {role} NOSUPERUSER NOBYPASSRLS CREATEROLE"))
            await connection.execute(text(f"SET LOCAL ROLE {role}"))
            planned = await connection.run_sync(adoption.plan, "head")
        finally:
            await transaction.rollback()
    assert planned.differences == [
        f"role {role}: expected superuser or BYPASSRLS (to read every account), found neither"
    ]
