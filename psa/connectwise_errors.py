"""Turn a ConnectWise error response into a typed `PsaError`, and say whether to retry it.

ConnectWise error bodies look like `{"code": "InvalidObject", "message": "...",
"errors": [{"code", "message", "resource", "field"}]}`; gateways in front of it may
answer with HTML or nothing, so every field is optional here.
"""

from __future__ import annotations

import re
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
FIELD_REFUSED = "refused by ConnectWise"
_IDENTIFIER = re.compile(r"[A-Za-z0-9_./\[\]-]{1,64}")


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
    """The typed error for a non-2xx answer (429 is handled by the caller's retry loop).

    The message is fixed per code: the remote body (which a wrongly configured host
    could fill with anything, internal pages included) never reaches the caller. Field
    names and codes are kept only when they look like identifiers; the scrubbed remote
    text goes to `detail`, for the logs.
    """
    detail = scrub(body.message)
    errors = tuple(
        PsaFieldError(
            code=identifier(e.code),
            message=FIELD_REFUSED,
            resource=identifier(e.resource),
            field=identifier(e.field),
        )
        for e in body.errors
    )
    details = "; ".join(f"{e.field}: {scrub(e.message)}" for e in body.errors)
    common: dict[str, Any] = {
        "status": status,
        "request_id": identifier(request_id),
        "psa_code": identifier(body.code),
        "detail": "; ".join(part for part in (detail, details) if part)[:MAX_MESSAGE_CHARS],
    }
    if status == 401:
        return PsaAuthError("ConnectWise refused the API keys", **common)
    if status == 403 or body.code == "Security":
        return PsaForbiddenError("the ConnectWise API member lacks the right for this", **common)
    if status == 404 or body.code == "NotFound":
        return PsaNotFoundError("the ConnectWise record was not found", **common)
    if status >= 500:
        return PsaUnavailableError(f"ConnectWise answered {status}", **common)
    return PsaValidationError(
        f"ConnectWise refused the request ({status})", errors=errors, **common
    )


def identifier(value: str | None) -> str | None:
    """`value` when it looks like a name or code (`status/id`, `InvalidObject`), else None."""
    return value if value is not None and _IDENTIFIER.fullmatch(value) else None
