"""The embedded PostgreSQL of the zero-configuration run (and of tests without a server).

`pgserver` ships PostgreSQL binaries in a wheel; where it is missing, a PostgreSQL
found on the PATH or under /usr/lib/postgresql is used the same way.
"""

from __future__ import annotations

from pathlib import Path


class EmbeddedPostgresError(RuntimeError):
    """No embedded PostgreSQL could be started; the message says what to do."""


def embedded_server_url(data_dir: Path) -> str:
    """Start (or reuse) the PostgreSQL server in `data_dir`; return its superuser URL."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        import pgserver
    except ImportError as error:  # pragma: no cover - depends on the platform
        raise EmbeddedPostgresError(
            "no embedded PostgreSQL: install the 'pgserver' package or set DATABASE_URL"
        ) from error
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    uri: str = server.get_uri()
    return uri
