"""Whether a database address is the PostgreSQL running from a data folder.

While it runs, PostgreSQL's `postmaster.pid` in the data folder names its port (line 4)
and its first socket folder (line 5). The embedded demo's address matches them: TCP on
the loopback at that port, or that socket folder. Any other server on the machine (the
product's, say) does not, however local its address.
"""

from __future__ import annotations

from pathlib import Path

LOOPBACK_HOSTS = frozenset({"", "127.0.0.1", "localhost", "::1"})


def runs_from(data_dir: Path, host: str, port: int) -> bool:
    """True when `host`:`port` (a host starting with / is a socket folder) is the server
    whose data folder is `data_dir`, as its postmaster.pid says."""
    try:
        lines = (data_dir / "postmaster.pid").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    if len(lines) < 5 or lines[3].strip() != str(port):
        return False
    if host.startswith("/"):
        socket_dir = lines[4].strip()
        return bool(socket_dir) and Path(host).resolve() == Path(socket_dir).resolve()
    return host in LOOPBACK_HOSTS
