"""A PgBouncer in transaction pooling mode in front of the test PostgreSQL, made by a test.

It listens on a free loopback port with a generated pgbouncer.ini and userlist in a
temporary folder and forwards every database to the test server (over TCP, or the
embedded server's socket folder). When we are root, which PgBouncer refuses, it runs as
the server's user. `stop` ends it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from service.runtime.embedded import _give_to, _run_as


class BouncerUnavailable(RuntimeError):
    """PgBouncer is not installed here, or did not start; the message says which."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _server_host(server: URL) -> str:
    """The server's host, or its socket folder (`?host=/path`, as the embedded one has)."""
    host = server.host or server.query.get("host") or "127.0.0.1"
    return host if isinstance(host, str) else host[0]


def _user_for(host: str) -> str | None:
    """Who runs PgBouncer: ourselves, or when we are root (which PgBouncer refuses) the
    owner of the server's socket folder (who alone may reach it), else `postgres`."""
    if os.geteuid() != 0:
        return None
    if host.startswith("/"):
        owner = pwd.getpwuid(Path(host).stat().st_uid).pw_name
        if owner != "root":
            return owner
    return _run_as()


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@dataclass
class Bouncer:
    root: Path
    port: int
    process: subprocess.Popen[bytes]

    def url(self, server_url: str) -> str:
        """`server_url` (same role, password and database) through this PgBouncer."""
        parsed = make_url(server_url).set(host="127.0.0.1", port=self.port)
        query = {key: value for key, value in parsed.query.items() if key != "host"}
        return parsed.set(query=query).render_as_string(hide_password=False)

    @classmethod
    def start(
        cls, root: Path, server_url: str, users: dict[str, str], *, pool_size: int = 2
    ) -> Bouncer:
        """Start in front of `server_url`'s server; `users` are the roles (name: password)
        clients may log in as. Trust authentication towards the clients; towards the
        server, each role's own password from the userlist. `pool_size` server
        connections per database and role, far fewer than the clients, so clients take
        turns on them as they would in production, and one client's transactions move
        from one to the next."""
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            raise BouncerUnavailable("pgbouncer is not installed (apt-get install pgbouncer)")
        server = make_url(server_url)
        user = _user_for(_server_host(server))
        root.mkdir(parents=True, exist_ok=True)
        _give_to(user, root)
        port = _free_port()
        userlist = root / "userlist.txt"
        userlist.write_text(
            "".join(f"{_quoted(name)} {_quoted(password)}\n" for name, password in users.items())
        )
        ini = root / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"* = host={_server_host(server)} port={server.port or 5432}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {userlist}\n"
            "pool_mode = transaction\n"
            # Idle server connections are handed out oldest first: a client's next
            # transaction runs on another server connection whenever there is one.
            "server_round_robin = 1\n"
            "max_client_conn = 200\n"
            # A server it cannot reach fails the test's connection in seconds.
            "client_login_timeout = 10\n"
            "server_connect_timeout = 5\n"
            f"default_pool_size = {pool_size}\n"
            f"logfile = {root / 'pgbouncer.log'}\n"
            f"pidfile = {root / 'pgbouncer.pid'}\n"
        )
        for path in (userlist, ini):
            _give_to(user, path)
        argv = [binary, str(ini)] if user is None else [binary, "-u", user, str(ini)]
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        bouncer = cls(root, port, process)
        bouncer._wait_listening()
        return bouncer

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BouncerUnavailable(f"pgbouncer exited: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise BouncerUnavailable(f"pgbouncer did not listen in 10 s: {self.log_tail()}")

    def log_tail(self) -> str:
        log = self.root / "pgbouncer.log"
        text = log.read_text()[-2000:] if log.exists() else ""
        stderr = b""
        if self.process.poll() is not None and self.process.stderr:
            stderr = self.process.stderr.read()
        return (text + stderr.decode(errors="replace")).strip()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()


def unavailable_means_failure() -> bool:
    """In CI a missing PgBouncer fails the tests instead of skipping them."""
    return bool(os.environ.get("CI"))
