"""Cross-origin access for browser dashboards served from other origins (CORS).

Only the origins of `CORS_ALLOWED_ORIGINS` may call the API from a browser (none by
default). Bearer tokens travel in a header, never in cookies, so credentials are not
allowed; a refused preflight is a coded JSON error like every other refusal.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from core.error_codes import ErrorCode
from service.http.limits import error_body

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
            error_body(reason, ErrorCode.CORS_NOT_ALLOWED),
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
