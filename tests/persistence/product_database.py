"""A database built the way the product has it, not by our migrations.

The product tables with a few extra columns, default (other) constraint names, the
unique email as a unique index, an index of its own under another name, an extra
table, row-level security with its own policies on every table (trees and users not
forced) and no `alembic_version`.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

PRODUCT_DDL = (
    """CREATE TABLE accounts (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        timezone text NOT NULL DEFAULT 'UTC',
        plan text NOT NULL DEFAULT 'pro',
        created_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE users (
        id uuid PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES accounts (id),
        email text NOT NULL,
        display_name text,
        role text NOT NULL CHECK (role IN ('engineer', 'team_admin', 'admin')),
        created_at timestamptz NOT NULL DEFAULT now())""",
    "CREATE UNIQUE INDEX users_email_per_account ON users (account_id, email)",
    """CREATE TABLE trees (
        id uuid PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES accounts (id),
        name text NOT NULL,
        category text,
        status text NOT NULL DEFAULT 'published'
            CHECK (status IN ('draft', 'published', 'archived')),
        definition jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE ai_sessions (
        id uuid PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES accounts (id),
        user_id uuid REFERENCES users (id),
        session_type text NOT NULL DEFAULT 'flowpilot'
            CHECK (session_type IN ('flowpilot', 'assistant')),
        problem_domain text,
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused',
            'resolved', 'escalated', 'requesting_escalation', 'abandoned')),
        confidence_tier text
            CHECK (confidence_tier IS NULL
                   OR confidence_tier IN ('discovery', 'exploring', 'guided')),
        matched_flow_id uuid REFERENCES trees (id),
        match_confidence double precision
            CHECK (match_confidence IS NULL
                   OR (match_confidence >= 0 AND match_confidence <= 1)),
        started_at timestamptz NOT NULL,
        resolved_at timestamptz,
        rating smallint CHECK (rating IS NULL OR (rating >= 1 AND rating <= 5)),
        psa_ticket_id text,
        transcript text,
        created_at timestamptz NOT NULL DEFAULT now())""",
    "CREATE INDEX ai_sessions_by_account_time ON ai_sessions (account_id, started_at DESC)",
    """CREATE TABLE integrations (
        id uuid PRIMARY KEY,
        account_id uuid NOT NULL REFERENCES accounts (id),
        kind text NOT NULL)""",
    "ALTER TABLE accounts ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE accounts FORCE ROW LEVEL SECURITY",
    "CREATE POLICY accounts_own ON accounts "
    "USING (id = current_setting('app.current_account_id', true)::uuid)",
    "ALTER TABLE users ENABLE ROW LEVEL SECURITY",
    "CREATE POLICY users_own ON users "
    "USING (account_id = current_setting('app.current_account_id', true)::uuid)",
    "ALTER TABLE trees ENABLE ROW LEVEL SECURITY",
    "CREATE POLICY trees_own ON trees "
    "USING (account_id = current_setting('app.current_account_id', true)::uuid)",
    "ALTER TABLE ai_sessions ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE ai_sessions FORCE ROW LEVEL SECURITY",
    "CREATE POLICY sessions_own ON ai_sessions "
    "USING (account_id = current_setting('app.current_account_id', true)::uuid)",
)


async def create_product_tables(connection: AsyncConnection) -> None:
    for statement in PRODUCT_DDL:
        await connection.execute(text(statement))
