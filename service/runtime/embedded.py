"""The embedded PostgreSQL of the zero-configuration run (and of tests without a server).

`pgserver` ships PostgreSQL binaries in a wheel and is tried first. Where it is missing
or cannot start, a PostgreSQL installed on the machine (`pg_ctl` on the PATH or under
/usr/lib/postgresql/*/bin) runs the same data folder, listening on 127.0.0.1 only.
PostgreSQL refuses to run as root, so as root both run the server as an unprivileged
system user (`pgserver` creates its own; the fallback uses `postgres` or `pgserver`).
"""

from __future__ import annotations

import atexit
import json
import os
import pwd
import shutil
import socket
import subprocess
import warnings
from pathlib import Path

BACKEND_ENV = "FLOWPILOT_EMBEDDED_BACKEND"
"""`pgserver` or `system` forces one backend (tests of the fallback); unset tries both."""

_SYSTEM_USERS = ("postgres", "pgserver")
_START_TIMEOUT_S = 60


class EmbeddedPostgresError(RuntimeError):
    """No embedded PostgreSQL could be started; the message says what to do."""


def embedded_server_url(data_dir: Path, *, stop_at_exit: bool = False) -> str:
    """Start (or reuse) the PostgreSQL server in `data_dir`; return its superuser URL.

    With `stop_at_exit` the server stops when this process exits, unless another
    process still holds it (pgserver) — the CLI's choice, and the tests' unless told
    to keep it.
    """
    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    backend = os.environ.get(BACKEND_ENV, "").strip().lower()
    if backend not in {"", "pgserver", "system"}:
        raise EmbeddedPostgresError(
            f"{BACKEND_ENV} must be 'pgserver' or 'system', not {backend!r}"
        )
    failures: list[str] = []
    if backend in {"", "pgserver"}:
        try:
            return _pgserver_url(data_dir, stop_at_exit=stop_at_exit)
        except Exception as error:  # any failure of the wheel: try the installed server
            failures.append(f"pgserver: {_one_line(error)}")
    if backend in {"", "system"}:
        try:
            return _system_url(data_dir, stop_at_exit=stop_at_exit)
        except Exception as error:
            failures.append(f"system PostgreSQL: {_one_line(error)}")
    raise EmbeddedPostgresError(
        "no embedded PostgreSQL could start ("
        + "; ".join(failures)
        + "); install the 'pgserver' package or PostgreSQL, or set DATABASE_URL"
    )


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop processes that died without cleaning up (kill -9) from pgserver's handle list.

    pgserver stops the server when the last handle exits; a dead handle left in the
    list would keep it running forever.
    """
    path = data_dir / ".handle_pids.json"
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if not isinstance(pids, list):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive))


def _pgserver_url(data_dir: Path, *, stop_at_exit: bool) -> str:
    if _owned_by_fallback(data_dir):
        raise EmbeddedPostgresError(f"{data_dir} is run by the system PostgreSQL")
    _forget_dead_handles(data_dir)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers); harmless here.
        warnings.simplefilter("ignore")
        import pgserver  # type: ignore[import-untyped,unused-ignore]

        server = pgserver.get_server(  # type: ignore[attr-defined,unused-ignore]
            data_dir, cleanup_mode="stop" if stop_at_exit else None
        )
    uri: str = server.get_uri()
    return uri


# --- fallback: the PostgreSQL installed on the machine -------------------------------

_MARKER = "flowpilot-system-postgres"


def _owned_by_fallback(data_dir: Path) -> bool:
    return (data_dir / _MARKER).exists()


def _bin_dir() -> Path:
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    for candidate in reversed(candidates):
        if (candidate / "pg_ctl").exists() and (candidate / "initdb").exists():
            return candidate
    raise EmbeddedPostgresError("no initdb/pg_ctl on the PATH or under /usr/lib/postgresql")


def _run_as() -> str | None:
    """The unprivileged user to run PostgreSQL as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    for name in _SYSTEM_USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise EmbeddedPostgresError(
        "running as root and no 'postgres' system user exists to run PostgreSQL as"
    )


def _command(user: str | None, argv: list[str]) -> list[str]:
    if user is None:
        return argv
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", user, "--", *argv]
    su = shutil.which("su")
    if su:
        return [su, user, "-s", "/bin/sh", "-c", " ".join(_shell_quote(arg) for arg in argv)]
    raise EmbeddedPostgresError("running as root and neither runuser nor su is available")


def _shell_quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\"'\"'") + "'"


def _run(user: str | None, argv: list[str]) -> None:
    result = subprocess.run(
        _command(user, argv), capture_output=True, text=True, timeout=_START_TIMEOUT_S
    )
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines()
        raise EmbeddedPostgresError(
            f"{Path(argv[0]).name} failed: {output[-1] if output else result.returncode}"
        )


def _give_to(user: str | None, path: Path) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    # The server user must be able to reach the folder through its parents.
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def _running_port(data_dir: Path) -> int | None:
    """The port of a live server on `data_dir` (from postmaster.pid), else None."""
    pid_file = data_dir / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by the server user
    return port


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _system_url(data_dir: Path, *, stop_at_exit: bool) -> str:
    bin_dir = _bin_dir()
    user = _run_as()
    if not (data_dir / "PG_VERSION").exists():
        data_dir.mkdir(mode=0o700, exist_ok=True)
        _give_to(user, data_dir)
        _run(
            user,
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
            ],
        )
        (data_dir / _MARKER).write_text("this folder is run by the system PostgreSQL\n")
    port = _running_port(data_dir)
    if port is None:
        port = _free_port()
        _run(
            user,
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data_dir),
                "-w",
                "-t",
                str(_START_TIMEOUT_S),
                "-l",
                str(data_dir / "log"),
                "-o",
                f"-h 127.0.0.1 -p {port} -k ''",
                "start",
            ],
        )
        if stop_at_exit:
            stop = [str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"]
            atexit.register(subprocess.run, _command(user, stop), capture_output=True, check=False)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"
