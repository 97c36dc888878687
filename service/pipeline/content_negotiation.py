"""GraphQL over HTTP: the response media type, and the status code that goes with it.

`application/graphql-response+json` (the spec's type) when the client accepts it:
request errors (parse, validation, variable coercion, refusals before execution) are
4xx and carry no `data`. `application/json` for older clients (no Accept, `*/*`):
always 200, as they expect. A request that needs a caller and has none, or has an
invalid token, is 401 with `WWW-Authenticate: Bearer` either way, so token-refresh
code fires; the coded body stays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from core.error_codes import ErrorCode
from service.http.limits import error_body

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
_SUPPORTED = (GRAPHQL_RESPONSE_JSON, APPLICATION_JSON)
# Status of a request error (no `data`) under the spec's media type, by first error code.
_REQUEST_ERROR_STATUS: dict[str, int] = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.TIMEOUT: 504,
    ErrorCode.DATABASE_UNAVAILABLE: 503,
}


@dataclass
class Negotiated:
    """What this request's answer will be; filled in as the request is processed."""

    media_type: str
    status: int = 200
    unauthenticated: bool = False


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges.append((media.lower(), quality))
    return ranges


def _quality(media_type: str, ranges: Sequence[tuple[str, float]]) -> tuple[int, float]:
    """(specificity, q) of the most specific range matching `media_type`; (0, 0) when none."""
    kind = media_type.split("/")[0]
    best = (0, 0.0)
    for media, quality in ranges:
        specificity = (
            3 if media == media_type else 2 if media == f"{kind}/*" else 1 if media == "*/*" else 0
        )
        if specificity > best[0]:
            best = (specificity, quality)
    return best


def choose_media_type(accept: str | None) -> str | None:
    """The type to answer with; None when the client accepts neither (406).

    No Accept header, or only wildcards: `application/json`, as the spec asks for the
    clients of before it. An explicit `application/graphql-response+json` wins a tie.
    """
    if accept is None or not accept.strip():
        return APPLICATION_JSON
    ranges = _media_ranges(accept)
    scored = [(media, *_quality(media, ranges)) for media in _SUPPORTED]
    acceptable = [(media, exact, q) for media, exact, q in scored if q > 0 and exact > 0]
    if not acceptable:
        return None
    explicit = [item for item in acceptable if item[1] == 3]
    candidates = explicit or [(APPLICATION_JSON, 1, max(q for _, _, q in acceptable))]
    return max(candidates, key=lambda item: (item[2], item[0] == GRAPHQL_RESPONSE_JSON))[0]


def negotiate(accept: str | None) -> Negotiated | Response:
    """What this request's answer will be; a 406 response when the client accepts neither."""
    media_type = choose_media_type(accept)
    if media_type is None:
        return Response(
            error_body(
                f"this endpoint answers {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}",
                ErrorCode.NOT_ACCEPTABLE,
            ),
            status_code=406,
            media_type=APPLICATION_JSON,
        )
    return Negotiated(media_type)


def is_request_error(result: ExecutionResult) -> bool:
    """True when execution never started: no data, and no error belongs to a field."""
    if isinstance(result, PreExecutionError):
        return True
    return result.data is None and all(error.path is None for error in result.errors or ())


def shape_result(
    negotiated: Negotiated, result: ExecutionResult, body: GraphQLHTTPResponse
) -> None:
    """Drop `data` of a request error (spec type only) and note the status it needs."""
    codes = [_code(error) for error in body.get("errors") or ()]
    if ErrorCode.UNAUTHENTICATED in codes:
        negotiated.unauthenticated = True
        negotiated.status = 401
        return
    if negotiated.media_type == GRAPHQL_RESPONSE_JSON and is_request_error(result):
        body.pop("data", None)
        negotiated.status = _REQUEST_ERROR_STATUS.get((codes or [None])[0] or "", 400)


def _code(error: Any) -> str | None:
    extensions = error.get("extensions") if isinstance(error, Mapping) else None
    code = extensions.get("code") if isinstance(extensions, Mapping) else None
    return code if isinstance(code, str) else None


def finish(negotiated: Negotiated, authorization: str | None, response: Response) -> Response:
    """Apply the negotiated type, status and challenge (`authorization`: the request's
    header, which decides the challenge's error) to the response."""
    response.headers["content-type"] = f"{negotiated.media_type}; charset=utf-8"
    if response.status_code == 200 and negotiated.status != 200:
        response.status_code = negotiated.status
    if negotiated.unauthenticated:
        challenge = 'Bearer realm="flowpilot"'
        if authorization:
            challenge += ', error="invalid_token"'
        response.headers["www-authenticate"] = challenge
    return response


def check_request_body(decoded: object) -> str | None:
    """Why a GraphQL request body is malformed (a 400), or None when it is fine."""
    requests = decoded if isinstance(decoded, list) else [decoded]
    for item in requests:
        if not isinstance(item, Mapping):
            continue
        for name, kinds in (
            ("query", str),
            ("operationName", str),
            ("variables", Mapping),
            ("extensions", Mapping),
        ):
            value = item.get(name)
            if value is not None and not isinstance(value, kinds):
                return f"{name} must be {'a string' if kinds is str else 'an object'}"
    return None
