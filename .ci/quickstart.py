"""The README's quick start as a newcomer meets it: `python main.py serve` with no
DATABASE_URL (embedded PostgreSQL in a fresh data folder), a tab query with the printed
token, then Ctrl-C; no PostgreSQL of that folder may outlive the server.

Run from the project folder with the virtualenv active: `python .ci/quickstart.py`.
Prints one line per step and exits 0 when every step passed, 1 otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 60.0
TOKEN_PREFIX = '{"Authorization": "Bearer '


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _processes_using(folder: Path) -> list[int]:
    """Live processes whose command line names `folder` (the postmaster does: -D folder)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(folder) in cmdline and int(entry.name) != os.getpid():
            pids.append(int(entry.name))
    return pids


def _post(url: str, token: str, query: str) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body: dict[str, object] = json.load(response)
        return body


def _wait_ready(base: str, server: subprocess.Popen[str], deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"serve exited with {server.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not become ready")


def _read_token(server: subprocess.Popen[str], output: list[str], deadline: float) -> str:
    assert server.stdout is not None
    for line in server.stdout:
        output.append(line)
        if line.startswith(TOKEN_PREFIX):
            return line.strip().removeprefix(TOKEN_PREFIX).removesuffix('"}')
        if time.monotonic() > deadline:
            break
    raise RuntimeError("serve printed no token")


def smoke(data_dir: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TEST_DATABASE_URL"}}
    env["FLOWPILOT_DATA_DIR"] = str(data_dir)
    started = time.monotonic()
    deadline = started + START_TIMEOUT_S
    output: list[str] = []
    server = subprocess.Popen(
        [sys.executable, "main.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        token = _read_token(server, output, deadline)
        drain = threading.Thread(target=lambda: output.extend(server.stdout or ()), daemon=True)
        drain.start()
        _wait_ready(base, server, deadline)
        print(f"quick start: serving after {time.monotonic() - started:.0f} s", flush=True)
        query = (ROOT / "queries" / "overview.graphql").read_text(encoding="utf-8")
        body = _post(f"{base}/graphql", token, query)
        overview = (body.get("data") or {}).get("overview")  # type: ignore[attr-defined]
        if body.get("errors") or not overview or not overview.get("sessionCount"):
            raise RuntimeError(f"the Overview tab did not answer: {json.dumps(body)[:300]}")
        print(f"quick start: OverviewTab sessionCount {overview['sessionCount']}", flush=True)
    except BaseException:
        print("".join(output[-20:]), file=sys.stderr)
        raise
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)  # Ctrl-C, as a newcomer stops it
            try:
                server.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
                raise RuntimeError("serve did not stop within a minute of Ctrl-C") from None
    left = _processes_using(data_dir)
    if left or (data_dir / "postmaster.pid").exists():
        raise RuntimeError(f"PostgreSQL of {data_dir} still runs after serve stopped: {left}")
    print(f"quick start: serve exited {server.returncode}, no PostgreSQL left", flush=True)


def main() -> int:
    # A fresh folder inside the project (the server user must reach it through its parents).
    data_dir = ROOT / "var" / f"ci-quickstart-{os.getpid()}"
    shutil.rmtree(data_dir, ignore_errors=True)
    try:
        smoke(data_dir)
    except Exception as error:
        print(f"quick start: FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        if not _processes_using(data_dir):
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
