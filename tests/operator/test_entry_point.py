"""The installed `flowpilot-analytics` script: the commands of `python main.py`, messages
naming the command as invoked, and one exit status (0) after SIGTERM's drain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from tests.operator.test_bad_settings import free_port
from tests.service.test_cli import _OWN_VARIABLES, ROOT, SECRET, assert_one_line_failure

SCRIPT = Path(sys.executable).parent / "flowpilot-analytics"


def _env(**extra: str) -> dict[str, str]:
    clean = {key: value for key, value in os.environ.items() if key not in _OWN_VARIABLES}
    return {**clean, **extra}


def script(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed script, from a folder that is not the checkout."""
    return subprocess.run(
        [str(SCRIPT), *args], cwd="/", env=_env(**env), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_the_script_lists_the_commands_and_runs_one() -> None:
    helped = script("--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: flowpilot-analytics [-h] COMMAND ...")
    assert "create-app-role" in helped.stdout and "rebuild-rollups" in helped.stdout
    token = script("token", "--role", "admin", DATABASE_URL="postgresql://a@db/x",
                   AUTH_JWT_SECRET=SECRET)  # fmt: skip
    assert token.returncode == 0, token.stderr
    settings = Settings(jwt_secret=SECRET, database_url="postgresql://a@db/x", demo=False)
    from core.auth import verify_token

    assert verify_token(token.stdout.strip(), settings).role == "admin"


def test_messages_name_the_command_as_invoked(empty_database_url: str) -> None:
    installed = assert_one_line_failure(script("seed-demo", DATABASE_URL=empty_database_url))
    assert installed.endswith("run `flowpilot-analytics migrate`"), installed
    checkout = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "seed-demo"], cwd=ROOT,
        env=_env(DATABASE_URL=empty_database_url), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert assert_one_line_failure(checkout).endswith("run `python main.py migrate`")


def _wait_until_ready(port: str, server: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[1]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail("serve did not become ready")


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_exits_0_after_the_drain_whatever_the_worker_count(
    database_url: str, workers: int
) -> None:
    port = free_port()
    server = subprocess.Popen(
        [str(SCRIPT), "serve", "--port", port, "--workers", str(workers)],
        cwd="/", env=_env(DATABASE_URL=database_url, AUTH_JWT_SECRET=SECRET),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_until_ready(port, server)
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
        assert server.returncode == 0, stderr
        assert "Traceback" not in stderr
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
