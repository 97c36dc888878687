"""`python main.py ...` as an operator runs it: in a subprocess, against the test server."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from core.auth import verify_token
from core.settings import DEMO_JWT_SECRET, Settings
from persistence.engine import asyncpg_dsn, create_engine
from persistence.operations.demo_seed import DEMO_ACCOUNT_ID, DEMO_TEAM_ADMIN_ID
from persistence.operations.migrate import current_revision, head_revision

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-test-secret-that-is-long-enough-for-hs256"
_OWN_VARIABLES = (
    "DATABASE_URL",
    "DATABASE_READ_URL",
    "FLOWPILOT_DEMO",
    "AUTH_JWT_SECRET",
    "AUTH_JWT_ISSUER",
    "AUTH_JWT_AUDIENCE",
    "AUTH_JWT_MAX_LIFETIME_S",
)


def run(*args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if key not in _OWN_VARIABLES}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_failure(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


async def _revision(url: str) -> str | None:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            return await current_revision(connection)
    finally:
        await engine.dispose()


def test_token_defaults_to_the_demo_team_admin() -> None:
    result = run("token")
    assert result.returncode == 0, result.stderr
    principal = verify_token(result.stdout.strip(), Settings(jwt_secret=DEMO_JWT_SECRET))
    assert principal.account_id == DEMO_ACCOUNT_ID
    assert principal.user_id == DEMO_TEAM_ADMIN_ID
    assert principal.role == "team_admin"


def test_token_uses_the_configured_secret_and_arguments() -> None:
    account = uuid.uuid4()
    result = run(
        "token",
        "--role",
        "admin",
        "--account",
        str(account),
        "--hours",
        "1",
        DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",  # not contacted
        AUTH_JWT_SECRET="an-operator-secret-of-32-bytes-or-more",
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    principal = verify_token(token, Settings(jwt_secret="an-operator-secret-of-32-bytes-or-more"))
    assert (principal.account_id, principal.user_id, principal.role) == (account, None, "admin")
    with pytest.raises(Exception, match="invalid token"):
        verify_token(token, Settings(jwt_secret=DEMO_JWT_SECRET))


async def test_migrate_reaches_head_and_downgrade_returns(empty_database_url: str) -> None:
    result = run("migrate", DATABASE_URL=empty_database_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"database schema at {head_revision()} (head)"
    assert await _revision(empty_database_url) == head_revision()

    result = run("downgrade", "base", DATABASE_URL=empty_database_url)
    assert result.returncode == 0, result.stderr
    assert await _revision(empty_database_url) is None

    result = run("migrate", "--to", "0001_baseline", DATABASE_URL=empty_database_url)
    assert result.returncode == 0, result.stderr
    assert await _revision(empty_database_url) == "0001_baseline"


def test_serve_refuses_a_database_not_at_head(empty_database_url: str) -> None:
    result = run("serve", "--port", "1", DATABASE_URL=empty_database_url, AUTH_JWT_SECRET=SECRET)
    line = assert_one_line_failure(result)
    assert line == (
        f"error: database schema is at base (empty), expected {head_revision()}: "
        "run `python main.py migrate`"
    )

    assert run("migrate", "--to", "0001_baseline", DATABASE_URL=empty_database_url).returncode == 0
    result = run("serve", "--port", "1", DATABASE_URL=empty_database_url, AUTH_JWT_SECRET=SECRET)
    assert "schema is at 0001_baseline, expected" in assert_one_line_failure(result)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens once the probe socket is closed


def test_bad_configuration_gives_one_line(server_url: str) -> None:
    line = assert_one_line_failure(run("migrate", DATABASE_URL="mysql://root@localhost/app"))
    assert "must point at PostgreSQL" in line

    port = _closed_port()
    line = assert_one_line_failure(
        run("migrate", DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/postgres")
    )
    assert line.startswith(f"error: cannot connect to PostgreSQL at 127.0.0.1:{port}: ")

    missing_role = make_url(server_url).set(username=f"no_such_{uuid.uuid4().hex[:8]}")
    line = assert_one_line_failure(
        run("seed-demo", DATABASE_URL=missing_role.render_as_string(hide_password=False))
    )
    assert "cannot connect to PostgreSQL" in line and "does not exist" in line

    line = assert_one_line_failure(run("serve", DATABASE_URL=server_url))
    assert "AUTH_JWT_SECRET must be set" in line

    line = assert_one_line_failure(
        run("create-app-role", "--name", "App Role", DATABASE_URL=server_url), code=2
    )
    assert "role name 'App Role' is not usable" in line

    line = assert_one_line_failure(run("downgrade", "no_such_revision", DATABASE_URL=server_url))
    assert line.startswith("error: migration: ")


async def test_create_app_role_prints_a_working_url(database_url: str) -> None:
    name = f"fp_cli_{uuid.uuid4().hex[:8]}"
    result = run("create-app-role", "--name", name, DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip().splitlines()[-1].removeprefix("DATABASE_URL=")
    assert make_url(printed).username == name
    assert make_url(printed).password  # a generated password
    connection = await asyncpg.connect(asyncpg_dsn(printed))
    try:
        assert await connection.fetchval("SELECT current_user") == name
        superuser = await connection.fetchval(
            "SELECT rolsuper FROM pg_roles WHERE rolname = $1", name
        )
        assert superuser is False
    finally:
        await connection.close()
        owner = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            await owner.execute(f'DROP OWNED BY "{name}"')
            await owner.execute(f'DROP ROLE "{name}"')
        finally:
            await owner.close()


def test_no_command_lists_the_commands() -> None:
    result = run()
    assert result.returncode == 0, result.stderr
    listed = [  # argparse indents each command by 4 spaces, wrapped help text by more
        line.split()[0] for line in result.stdout.splitlines() if re.match(r" {4}\S", line)
    ]
    assert listed == [
        "serve",
        "migrate",
        "downgrade",
        "seed-demo",
        "token",
        "persisted-query-manifest",
        "create-app-role",
        "recalc-success-rates",
        "rebuild-rollups",
        "reencrypt-psa-secrets",
    ]


def test_serve_on_a_port_in_use_fails_in_one_line(server_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        embedded = run("serve", "--port", str(port))
        configured = run(
            "serve", "--port", str(port), DATABASE_URL=server_url, AUTH_JWT_SECRET=SECRET
        )
    for result in (embedded, configured):
        line = assert_one_line_failure(result)
        assert line == f"error: cannot listen on 127.0.0.1:{port}: already in use"
        assert result.stdout == ""  # no GraphiQL URL, no token


def test_the_embedded_demo_refuses_a_real_secret() -> None:
    line = assert_one_line_failure(run("serve", "--port", "1", AUTH_JWT_SECRET=SECRET))
    assert "unset AUTH_JWT_SECRET" in line


def test_token_refuses_a_lifetime_the_service_would_refuse() -> None:
    line = assert_one_line_failure(run("token", "--hours", "48"))
    assert "longer than AUTH_JWT_MAX_LIFETIME_S" in line
    assert run("token", "--hours", "2", AUTH_JWT_MAX_LIFETIME_S="7200").returncode == 0
