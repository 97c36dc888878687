"""Every bad setting stops a command with one line naming the variable and what it
accepts: exit 1, no traceback, from `token`, `serve` and `migrate` alike."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.service.test_cli import _OWN_VARIABLES, ROOT, SECRET, assert_one_line_failure, run

# An address nothing listens on: each command must refuse the setting before connecting.
NOWHERE = "postgresql://app@127.0.0.1:9/flowpilot"
REDIS_ACCEPTS = (
    "error: REDIS_URL must be a redis://host:port/db, rediss:// (TLS) or unix:///path URL, "
    "with the password in it when Redis requires AUTH"
)


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python main.py ARGS` with the environment of the test run plus `env`."""
    clean = {key: value for key, value in os.environ.items() if key not in _OWN_VARIABLES}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, env={**clean, **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


BAD_VALUES = [
    (
        {"REQUEST_TIMEOUT_S": "-5"},
        "error: REQUEST_TIMEOUT_S must be a number of 0 or more (0 switches it off), got -5",
    ),
    ({"DB_POOL_SIZE": "-1"}, "error: DB_POOL_SIZE must be a whole number above 0, got -1"),
    (
        {"DB_MAX_OVERFLOW": "-2"},
        "error: DB_MAX_OVERFLOW must be a whole number of 0 or more, got -2",
    ),
    ({"QUERY_MAX_COST": "0"}, "error: QUERY_MAX_COST must be a whole number above 0, got 0"),
    ({"QUERY_MAX_DEPTH": "0"}, "error: QUERY_MAX_DEPTH must be a whole number above 0, got 0"),
    ({"MAX_REQUEST_BYTES": "0"}, "error: MAX_REQUEST_BYTES must be a whole number above 0, got 0"),
    (
        {"RATE_LIMIT_COST_PER_S": "-1"},
        "error: RATE_LIMIT_COST_PER_S must be a number of 0 or more "
        "(0 switches the budget off), got -1",
    ),
    (
        {"DB_STATEMENT_TIMEOUT_MS": "-1"},
        "error: DB_STATEMENT_TIMEOUT_MS must be a whole number of 0 or more "
        "(0 switches it off), got -1",
    ),
    ({"DB_POOL_TIMEOUT_S": "0"}, "error: DB_POOL_TIMEOUT_S must be a number above 0, got 0"),
    (
        {"ANALYTICS_CACHE_MAX_AGE_S": "nan"},
        "error: ANALYTICS_CACHE_MAX_AGE_S must be a finite number, got 'nan'",
    ),
    ({"AUTH_JWKS_TIMEOUT_S": "0"}, "error: AUTH_JWKS_TIMEOUT_S must be a number above 0, got 0"),
    ({"REDIS_URL": "not-a-url"}, REDIS_ACCEPTS),
    ({"REDIS_URL": "redis://cache:six/0"}, f"{REDIS_ACCEPTS}; its port is not a number"),
    ({"REDIS_URL": "redis:///0"}, f"{REDIS_ACCEPTS}; it names no host"),
    (
        {"REDIS_URL": "redis://cache:6379/zero"},
        f"{REDIS_ACCEPTS}; its database ('zero') is not a number",
    ),
    (
        {"AUTH_JWKS_URL": "http://idp.example.com/jwks.json"},
        "error: AUTH_JWKS_URL must be an https:// URL (http:// only on this machine), "
        "got 'http://idp.example.com/jwks.json'",
    ),
    (
        {"AUTH_JWKS_URL": "https://idp.example.com/jwks.json", "AUTH_JWT_ISSUER": "idp"},
        "error: AUTH_JWKS_URL needs AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE: the identity "
        "provider signs tokens for other applications too",
    ),
    (
        {"AUTH_JWT_SECRET_FILE": "/nonexistent/jwt-secret"},
        "error: AUTH_JWT_SECRET_FILE: cannot read /nonexistent/jwt-secret: "
        "No such file or directory",
    ),
    (
        {"AUTH_JWT_SECRET_FILE": "/dev/null"},
        "error: AUTH_JWT_SECRET_FILE: /dev/null is empty",
    ),
]


@pytest.mark.parametrize(("variables", "expected"), BAD_VALUES)
def test_serve_refuses_a_bad_value_in_one_line(variables: dict[str, str], expected: str) -> None:
    env = {"DATABASE_URL": NOWHERE, "AUTH_JWT_SECRET": SECRET, **variables}
    if "AUTH_JWT_SECRET_FILE" in variables:
        del env["AUTH_JWT_SECRET"]
    result = cli("serve", "--port", free_port(), env=env)
    assert assert_one_line_failure(result) == expected


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"DB_POOL_SIZE": "-1"}, "error: DB_POOL_SIZE must be a whole number above 0, got -1"),
        ({"REDIS_URL": "not-a-url"}, REDIS_ACCEPTS),
    ],
)
def test_the_demo_and_token_refuse_a_bad_value_too(
    variables: dict[str, str], expected: str
) -> None:
    assert assert_one_line_failure(cli("serve", "--port", free_port(), env=variables)) == expected
    assert assert_one_line_failure(cli("token", env=variables)) == expected


def test_migrate_refuses_an_unreadable_database_url_file(tmp_path: Path) -> None:
    missing = tmp_path / "database-url"
    line = assert_one_line_failure(run("migrate", DATABASE_URL_FILE=str(missing)))
    assert line == f"error: DATABASE_URL_FILE: cannot read {missing}: No such file or directory"
    missing.write_text(NOWHERE + "\n")
    line = assert_one_line_failure(
        run("migrate", DATABASE_URL_FILE=str(missing), DATABASE_URL=NOWHERE)
    )
    assert line == "error: set DATABASE_URL or DATABASE_URL_FILE, not both"
