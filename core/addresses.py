"""The host names and browser origins that settings accept, checked before they are used.

A host name is bare: letters, digits, `-` and dots, nothing else (no scheme, userinfo,
port, path or query), so a configured host cannot smuggle in another server.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")


class HostNameError(ValueError):
    """Not a bare host name; the message is fixed and safe to show."""


def host_name(value: str) -> str:
    """`value` as a lower-case host name, or HostNameError (anything but letters, digits, `-`
    and dots: no scheme, userinfo, port, path or query)."""
    host = value.strip().lower()
    if len(host) > 253 or not _HOST.fullmatch(host):
        raise HostNameError("site must be a bare host name such as api-na.myconnectwise.net")
    return host


def parse_origins(raw: str) -> tuple[str, ...]:
    """`https://a.example, http://localhost:5173` as origins; ValueError names a bad one.

    `*` allows every origin (harmless without cookies, but every site's scripts could then
    use a token they hold).
    """
    origins: list[str] = []
    for item in (piece.strip() for piece in raw.split(",")):
        if not item:
            continue
        if item == "*":
            origins.append(item)
            continue
        parts = urlsplit(item)
        if (
            parts.scheme not in {"http", "https"}
            or not parts.hostname
            or parts.path not in {"", "/"}
            or parts.query
            or parts.fragment
            or parts.username
        ):
            raise ValueError(f"{item!r} is not an origin like https://app.example.com")
        origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
    return tuple(origins)
