"""A result as GraphQL's response map, its errors as a client may see them."""

from __future__ import annotations

from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult

from core.error_codes import ErrorCode
from service.http.request_id import current_request_id
from service.observability.requests import note_errors
from service.pipeline.error_masking import mask_errors


def answer_body(result: ExecutionResult) -> GraphQLHTTPResponse:
    """`{"data", "errors", "extensions"}`: every error masked (service/pipeline/
    error_masking.py) and carrying a code and the request id (also in the X-Request-ID
    header); the codes go to the request metrics."""
    request_id = current_request_id()
    if result.errors:
        result.errors = mask_errors(result.errors, request_id)
    body = process_result(result)
    codes: list[str] = []
    for error in body.get("errors") or []:
        if not isinstance(error, dict):
            continue
        extensions = error.setdefault("extensions", {})
        if request_id is not None:
            extensions.setdefault("requestId", request_id)
        codes.append(str(extensions.get("code") or ErrorCode.GRAPHQL_VALIDATION_FAILED))
    note_errors(codes)
    return body
