"""A primary and a hot standby of it, made by a test: initdb, pg_basebackup, standby.signal.

Both listen on free loopback ports in a temporary folder, with the PostgreSQL binaries
the embedded server uses (the machine's, run as its `postgres` user when we are root).
The machine's own server is never touched. `stop` ends both.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from service.runtime.embedded import _bin_dir, _command, _give_to, _run_as


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class Pair:
    root: Path
    primary_port: int
    standby_port: int
    user: str | None

    def url(self, port: int, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    def _run(self, *argv: str, timeout: float = 120) -> None:
        result = subprocess.run(
            _command(self.user, list(argv)), capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise RuntimeError(f"{Path(argv[0]).name} failed: {result.stderr or result.stdout}")

    def _start(self, data: Path, port: int) -> None:
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
            "-c wal_level=replica -c max_wal_senders=4 -c hot_standby=on -c fsync=off"
        )
        log = self.root / f"{data.name}.log"
        try:
            self._run(str(_bin_dir() / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                      str(log), "-w", "-t", "240", "start", timeout=300)  # fmt: skip
        except RuntimeError as error:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{error}\n{tail}") from None

    @classmethod
    def start(cls, root: Path) -> Pair:
        user = _run_as()
        root.mkdir(parents=True, exist_ok=True)
        _give_to(user, root)
        pair = cls(root, _free_port(), _free_port(), user)
        binaries = _bin_dir()
        primary, standby = root / "primary", root / "standby"
        pair._run(str(binaries / "initdb"), "-D", str(primary), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8")  # fmt: skip
        pair._start(primary, pair.primary_port)
        pair._run(
            str(binaries / "pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(pair.primary_port),
            "-U",
            "postgres",
            "-D",
            str(standby),
            "-X",
            "stream",
            "-R",
        )  # fmt: skip  (-R: standby.signal + primary_conninfo)
        assert (standby / "standby.signal").exists()
        pair._start(standby, pair.standby_port)
        return pair

    def stop(self) -> None:
        for data in (self.root / "standby", self.root / "primary"):
            if (data / "postmaster.pid").exists():
                try:
                    self._run(str(_bin_dir() / "pg_ctl"), "-D", str(data), "-m", "fast",
                              "-w", "stop")  # fmt: skip
                except RuntimeError:
                    time.sleep(0.5)
