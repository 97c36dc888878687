"""Turn a ConnectWise error response into a typed `PsaError`, and say whether to retry it.

ConnectWise error bodies look like `{"code": "InvalidObject", "message": "...",
"errors": [{"code", "message", "resource", "field"}]}`; gateways in front of it may
answer with HTML or nothing, so every field is optional here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from psa.errors import (
    PsaAuthError,
    PsaError,
    PsaFieldError,
    PsaForbiddenError,
    PsaNotFoundError,
    PsaUnavailableError,
    PsaValidationError,
)

RETRYABLE_GATEWAY_STATUSES = frozenset({502, 503, 504})
MAX_MESSAGE_CHARS = 500


@dataclass(frozen=True)
class ErrorBody:
    """The parts of a ConnectWise error body we use."""

    code: str | None
    message: str
    errors: tuple[PsaFieldError, ...]

    @classmethod
    def parse(cls, payload: Any, fallback_text: str) -> ErrorBody:
        if not isinstance(payload, Mapping):
            return cls(code=None, message=fallback_text.strip()[:MAX_MESSAGE_CHARS], errors=())
        raw_errors = payload.get("errors")
        errors = tuple(
            PsaFieldError.from_json(item)
            for item in (raw_errors if isinstance(raw_errors, list) else [])
            if isinstance(item, Mapping)
        )
        code = payload.get("code")
        message = payload.get("message")
        return cls(
            code=None if code is None else str(code),
            message=str(message or "")[:MAX_MESSAGE_CHARS],
            errors=errors,
        )


def is_transient(status: int, body: ErrorBody) -> bool:
    """Gateway errors and 500s that say they timed out are worth another attempt."""
    if status in RETRYABLE_GATEWAY_STATUSES:
        return True
    if status == 500:
        text = body.message.lower()
        return "timeout" in text or "timed out" in text
    return False


def error_for(
    status: int,
    body: ErrorBody,
    request_id: str | None,
    scrub: Callable[[str], str],
) -> PsaError:
    """The typed error for a non-2xx answer (429 is handled by the caller's retry loop)."""
    message = scrub(body.message)
    errors = tuple(
        PsaFieldError(code=e.code, message=scrub(e.message), resource=e.resource, field=e.field)
        for e in body.errors
    )
    common: dict[str, Any] = {"status": status, "request_id": request_id, "psa_code": body.code}
    if status == 401:
        return PsaAuthError(
            f"ConnectWise refused the API keys: {message or 'unauthorized'}", **common
        )
    if status == 403 or body.code == "Security":
        return PsaForbiddenError(
            f"the ConnectWise API member lacks the right: {message or 'forbidden'}", **common
        )
    if status == 404 or body.code == "NotFound":
        return PsaNotFoundError(f"ConnectWise record not found: {message or 'not found'}", **common)
    if status >= 500:
        return PsaUnavailableError(
            f"ConnectWise answered {status}: {message or 'server error'}", **common
        )
    detail = "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in errors)
    text = message or f"ConnectWise refused the request ({status})"
    return PsaValidationError(f"{text} ({detail})" if detail else text, errors=errors, **common)
