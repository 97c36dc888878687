"""A `redis-server` of one test alone, on a free loopback port, stopped when it ends."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def redis_server(
    folder: Path, *options: str, tls: bool = False
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """(port, process); `tls`: the port speaks TLS only (`options` name the certificate)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (.ci/run installs it)")
    port = free_port()
    ports = ["--port", "0", "--tls-port", str(port)] if tls else ["--port", str(port)]
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *ports, *options],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"redis-server did not listen on {port}")
        yield port, process
    finally:
        process.kill()
        process.wait()
