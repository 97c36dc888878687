"""`<NAME>_FILE` for every secret setting, and `create-app-role` reading its password from
a file or standard input rather than the command line."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from core.auth import verify_token
from core.settings import Settings, SettingsError
from persistence.engine import asyncpg_dsn
from psa.credentials import new_secret_key, secret_key_from_env
from psa.errors import PsaConfigurationError
from tests.service.test_cli import (
    _OWN_VARIABLES,
    ROOT,
    SECRET,
    assert_one_line_failure,
    run,
)

DB = "postgresql://app@db.example.com:5432/flowpilot"
# Every secret setting: its variable, the field, and a value the settings accept.
SECRETS = [
    ("DATABASE_URL", "database_url", DB),
    ("DATABASE_READ_URL", "database_read_url", "postgresql://reader@replica:5432/flowpilot"),
    ("AUTH_JWT_SECRET", "jwt_secret", "a-secret-from-a-file-of-32-bytes-or-more"),
    ("REDIS_URL", "redis_url", "rediss://:p%40ss@cache.internal:6380/1"),
    ("ANALYTICS_CACHE_SIGNING_KEY", "response_cache_signing_key", "k" * 40),
    ("METRICS_TOKEN", "metrics_token", "scrape-me"),
    ("PSA_SECRET_KEY", "psa_secret_key", new_secret_key()),
]


def _base() -> dict[str, str]:
    return {"DATABASE_URL": DB, "AUTH_JWT_SECRET": SECRET}


@pytest.mark.parametrize(("variable", "name", "value"), SECRETS)
def test_each_secret_is_read_from_its_file_without_the_newline(
    tmp_path: Path, variable: str, name: str, value: str
) -> None:
    path = tmp_path / "secret"
    path.write_text(value + "\n")
    env = {key: raw for key, raw in _base().items() if key != variable}
    env[f"{variable}_FILE"] = str(path)
    assert getattr(Settings.from_env(env), name) == value
    path.write_text(value + "\r\n")  # written on Windows
    assert getattr(Settings.from_env(env), name) == value
    path.write_text(value + " ")  # only a line ending is dropped
    if variable not in {"DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL"}:
        assert getattr(Settings.from_env(env), name) == value + " "


@pytest.mark.parametrize(("variable", "name", "value"), SECRETS)
def test_a_secret_and_its_file_together_are_refused(
    tmp_path: Path, variable: str, name: str, value: str
) -> None:
    path = tmp_path / "secret"
    path.write_text(value)
    env = {**_base(), variable: value, f"{variable}_FILE": str(path)}
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert str(caught.value) == f"set {variable} or {variable}_FILE, not both"


def test_the_psa_key_list_is_read_from_its_file(tmp_path: Path) -> None:
    new, old = new_secret_key(), new_secret_key()
    path = tmp_path / "psa-keys"
    path.write_text(f"{new},{old}\n")
    assert secret_key_from_env({"PSA_SECRET_KEY_FILE": str(path)}) == f"{new},{old}".encode()
    with pytest.raises(PsaConfigurationError, match="set PSA_SECRET_KEY or PSA_SECRET_KEY_FILE"):
        secret_key_from_env({"PSA_SECRET_KEY_FILE": str(path), "PSA_SECRET_KEY": new})


def test_token_signs_with_the_secret_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "jwt-secret"
    path.write_text(SECRET + "\n")
    result = run("token", DATABASE_URL=DB, AUTH_JWT_SECRET_FILE=str(path))
    assert result.returncode == 0, result.stderr
    settings = Settings(jwt_secret=SECRET, database_url=DB, demo=False)
    assert verify_token(result.stdout.strip(), settings).role == "team_admin"
    line = assert_one_line_failure(
        run("token", DATABASE_URL=DB, AUTH_JWT_SECRET=SECRET, AUTH_JWT_SECRET_FILE=str(path))
    )
    assert line == "error: set AUTH_JWT_SECRET or AUTH_JWT_SECRET_FILE, not both"


async def _has_password(url: str, name: str, password: str) -> bool:
    """The role's stored SCRAM verifier is the password's (the test server may trust local
    connections, so logging in would prove nothing)."""
    owner = await asyncpg.connect(asyncpg_dsn(url))
    try:
        stored = await owner.fetchval("SELECT rolpassword FROM pg_authid WHERE rolname = $1", name)
    finally:
        await owner.close()
    method, rest = stored.split("$", 1)
    assert method == "SCRAM-SHA-256"
    iterations_salt, keys = rest.split("$")
    iterations, salt = iterations_salt.split(":")
    stored_key = keys.split(":")[0]
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return bool(base64.b64encode(hashlib.sha256(client_key).digest()).decode() == stored_key)


async def _drop(url: str, name: str) -> None:
    owner = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await owner.execute(f'DROP OWNED BY "{name}"')
        await owner.execute(f'DROP ROLE "{name}"')
    finally:
        await owner.close()


async def test_create_app_role_reads_the_password_from_a_file_or_stdin(
    database_url: str, tmp_path: Path
) -> None:
    name = f"fp_pw_{uuid.uuid4().hex[:8]}"
    path = tmp_path / "app-password"
    path.write_text("from-a-file-Pw-1\n")
    try:
        result = run("create-app-role", "--name", name, "--password-file", str(path),
                     DATABASE_URL=database_url)  # fmt: skip
        assert result.returncode == 0, result.stderr
        printed = make_url(result.stdout.strip().splitlines()[-1].removeprefix("DATABASE_URL="))
        assert printed.password == "from-a-file-Pw-1"
        assert await _has_password(database_url, name, "from-a-file-Pw-1")

        piped = _with_stdin("from-stdin-Pw-2\n", "create-app-role", "--name", name,
                            "--password-stdin", DATABASE_URL=database_url)  # fmt: skip
        assert piped.returncode == 0, piped.stderr
        assert await _has_password(database_url, name, "from-stdin-Pw-2")
        assert not await _has_password(database_url, name, "from-a-file-Pw-1")
    finally:
        await _drop(database_url, name)


def _with_stdin(text: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python main.py ARGS` with `text` on its standard input."""
    clean = {key: value for key, value in os.environ.items() if key not in _OWN_VARIABLES}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args], input=text, env={**clean, **env},
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip


def test_a_password_on_the_command_line_is_refused() -> None:
    line = assert_one_line_failure(
        run("create-app-role", "--password", "in-argv", DATABASE_URL=DB), code=2
    )
    assert line == (
        "error: --password would show the password to every user of this machine (ps, shell "
        "history): use --password-file PATH or --password-stdin"
    )
    empty = assert_one_line_failure(
        run("create-app-role", "--password-file", "/dev/null", DATABASE_URL=DB)
    )
    assert empty == "error: --password-file: /dev/null is empty"
