"""Whether `serve` can listen where it was asked to, checked before anything is printed or
started, so a port in use ends in one line instead of a token and uvicorn's exit 3."""

from __future__ import annotations

import errno
import socket


def listen_problem(host: str, port: int) -> str | None:
    """None when `host:port` can be bound now (as uvicorn binds it), else why not."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as error:
        return f"cannot resolve host {host!r}: {error.strerror}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            reason = (
                "already in use"
                if error.errno == errno.EADDRINUSE
                else error.strerror or str(error)
            )
            return f"cannot listen on {host}:{port}: {reason}"
    return None
