"""The Node project in clients/: installed from its lock file on first use, run by pytest.

The client checks are part of the test command, so a missing Node is never a silent
pass: the tests skip with the reason on a developer's machine, and fail under CI.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CLIENTS_DIR = Path(__file__).resolve().parents[2] / "clients"
NPM_TIMEOUT_S = 600


def require_node() -> str:
    """The `node` executable, with the project's packages installed (npm ci when stale)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        reason = "Node.js 20+ with npm is needed for the client checks in clients/"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    installed = CLIENTS_DIR / "node_modules" / ".package-lock.json"
    lock = CLIENTS_DIR / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=CLIENTS_DIR,
            check=True,
            timeout=NPM_TIMEOUT_S,
        )
    return node


async def run_node_tests(node: str, pattern: str, env: dict[str, str]) -> tuple[int, str]:
    """Run `node --test` on the files matching `pattern`; its exit code and output."""
    files = sorted(str(path) for path in (CLIENTS_DIR / "test").glob(pattern))
    process = await asyncio.create_subprocess_exec(
        node,
        "--test",
        "--test-reporter=spec",
        *files,
        cwd=CLIENTS_DIR,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode("utf-8", "replace")
