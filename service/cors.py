"""Cross-origin access for browser dashboards served from other origins (CORS).

Only the origins of `CORS_ALLOWED_ORIGINS` may call the API from a browser (none by
default). Bearer tokens travel in a header, never in cookies, so credentials are not
allowed; a refused preflight is a coded JSON error like every other refusal.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from service.http_limits import error_body

ALLOWED_METHODS = ("GET", "POST")
ALLOWED_HEADERS = (
    "authorization",
    "content-type",
    "accept",
    "x-request-id",
    "apollographql-client-name",
    "apollographql-client-version",
)
EXPOSED_HEADERS = ("x-request-id", "www-authenticate", "retry-after")
PREFLIGHT_MAX_AGE_S = 600


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


class CodedCORSMiddleware(CORSMiddleware):
    """Starlette's CORS handling; a refused preflight answers with a coded JSON body."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        reason = bytes(response.body).decode("utf-8", "replace")
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        headers.pop("content-type", None)
        return Response(
            error_body(reason, "CORS_NOT_ALLOWED"),
            status_code=400,
            headers=headers,
            media_type="application/json",
        )


def cors_middleware(origins: tuple[str, ...]) -> Middleware:
    """The middleware for `origins` (installed even when empty: preflights are refused)."""
    return Middleware(
        CodedCORSMiddleware,
        allow_origins=origins,
        allow_methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        allow_credentials=False,
        expose_headers=EXPOSED_HEADERS,
        max_age=PREFLIGHT_MAX_AGE_S,
    )
