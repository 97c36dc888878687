"""`python main.py serve` as an operator starts it: a subprocess on a free port, stopped
with SIGTERM; what it printed is kept in files for the test to read."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-test-secret-that-is-long-enough-for-hs256"
_OWN_VARIABLES = ("DATABASE_URL", "DATABASE_READ_URL", "FLOWPILOT_DEMO", "AUTH_JWT_SECRET")


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    exit_code: int | None = None
    printed: list[str] | None = None  # every line, once the server has stopped

    def lines(self) -> list[str]:
        """Every line printed on stdout and stderr so far."""
        if self.printed is not None:
            return self.printed
        return [
            line
            for path in (self.stdout, self.stderr)
            for line in path.read_text(encoding="utf-8").splitlines()
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve(database_url: str, *args: str, **env: str) -> Iterator[Served]:
    """`serve` on `database_url` until the block ends; ready once /readyz answers 200
    (each attempt is one request the server counts: the block starts after exactly one)."""
    port = free_port()
    clean = {key: value for key, value in os.environ.items() if key not in _OWN_VARIABLES}
    clean = {key: value for key, value in clean.items() if not key.startswith("OTEL_")}
    with tempfile.TemporaryDirectory(prefix="fp-serve-") as folder:
        stdout, stderr = Path(folder, "stdout"), Path(folder, "stderr")
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(
                [sys.executable, str(ROOT / "main.py"), "serve", "--port", str(port), *args],
                cwd=ROOT,
                env={
                    **clean,
                    "DATABASE_URL": database_url,
                    "AUTH_JWT_SECRET": SECRET,
                    # no background job runs on a timer: the test's own requests are all
                    "SUCCESS_RATE_RECALC_INTERVAL_S": "0",
                    "PSA_OUTBOX_RECOVERY_INTERVAL_S": "0",
                    **env,
                },
                stdout=out,
                stderr=err,
            )
        served = Served(f"http://127.0.0.1:{port}", process, stdout, stderr)
        try:
            _wait_until_ready(served)
            yield served
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            served.exit_code = process.wait(timeout=60)
            served.printed = served.lines()


def _wait_until_ready(served: Served) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise AssertionError("serve exited:\n" + "\n".join(served.lines()))
        try:
            if httpx.get(f"{served.url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("serve did not become ready:\n" + "\n".join(served.lines()))
