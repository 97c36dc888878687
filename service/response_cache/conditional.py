"""Conditional requests: an ETag on every cacheable answer, 304 for a matching If-None-Match.

`private`: answers are per account and role, never for a shared proxy. `no-cache`: a
browser may keep the copy but must ask each time, so a write is seen on the next load.
"""

from __future__ import annotations

from starlette.responses import Response

CACHE_CONTROL = "private, no-cache"


def matches(if_none_match: str | None, etag: str) -> bool:
    """True when the header names `etag` (weak or strong) or is `*`."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def headers(etag: str | None) -> dict[str, str]:
    if etag is None:
        return {"Cache-Control": CACHE_CONTROL}
    return {"ETag": etag, "Cache-Control": CACHE_CONTROL}


def not_modified(etag: str) -> Response:
    return Response(status_code=304, headers=headers(etag))


def stored_response(body: bytes, etag: str, unchanged: bool, media_type: str) -> Response:
    """Stored bytes as they were sent, with their ETag (`unchanged`: the client has them,
    a 304)."""
    if unchanged:
        return not_modified(etag)
    response = Response(body, 200, media_type=media_type)
    response.headers.update(headers(etag))
    return response
