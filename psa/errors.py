"""Typed PSA errors, each with a stable `code` the GraphQL layer can put in `extensions.code`.

Messages are our own fixed wording per code, never the remote body (a misconfigured or
hostile host could put anything there); the scrubbed remote text is kept in `detail`,
which only the logs see.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.error_codes import ErrorCode


@dataclass(frozen=True)
class PsaFieldError:
    """One entry of ConnectWise's `errors[]` list: which field failed and why."""

    code: str | None
    message: str
    resource: str | None = None
    field: str | None = None

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> PsaFieldError:
        return cls(
            code=_str_or_none(item.get("code")),
            message=str(item.get("message") or ""),
            resource=_str_or_none(item.get("resource")),
            field=_str_or_none(item.get("field")),
        )


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


class PsaError(Exception):
    """Base of every PSA failure; `code` is stable, `message` is human-readable."""

    code = ErrorCode.PSA_ERROR

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        psa_code: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.request_id = request_id
        self.psa_code = psa_code
        self.detail = detail  # the remote text, scrubbed: for logs, never for callers

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )

    @property
    def extensions(self) -> dict[str, Any]:
        """What a GraphQL error should carry in `extensions`."""
        ext: dict[str, Any] = {"code": self.code}
        if self.request_id is not None:
            ext["psaRequestId"] = self.request_id
        return ext


class PsaConfigurationError(PsaError):
    """Credentials or secret key missing/invalid on our side: nothing was sent."""

    code = ErrorCode.PSA_NOT_CONFIGURED


class PsaAuthError(PsaError):
    """401: the company id / public key / private key triple was refused."""

    code = ErrorCode.PSA_AUTH_FAILED


class PsaForbiddenError(PsaError):
    """403 or ConnectWise code `Security`: the API member lacks the right."""

    code = ErrorCode.PSA_FORBIDDEN


class PsaNotFoundError(PsaError):
    """404: the ticket (or other record) does not exist or is not visible."""

    code = ErrorCode.PSA_NOT_FOUND


class PsaValidationError(PsaError):
    """400 / InvalidObject, or refused locally before sending; keeps the field errors."""

    code = ErrorCode.PSA_INVALID_REQUEST

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[PsaFieldError] = (),
        status: int | None = None,
        request_id: str | None = None,
        psa_code: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(
            message, status=status, request_id=request_id, psa_code=psa_code, detail=detail
        )
        self.errors: tuple[PsaFieldError, ...] = tuple(errors)

    @property
    def fields(self) -> tuple[str, ...]:
        """Names of the fields ConnectWise (or our local check) complained about."""
        return tuple(e.field for e in self.errors if e.field)

    @property
    def extensions(self) -> dict[str, Any]:
        ext = super().extensions
        if self.errors:
            ext["fields"] = [
                {"field": e.field, "code": e.code, "message": e.message} for e in self.errors
            ]
        return ext


class PsaRateLimitedError(PsaError):
    """429 still answered after the retries: `retry_after` says when to try again."""

    code = ErrorCode.PSA_RATE_LIMITED

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = 429,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, status=status, request_id=request_id)
        self.retry_after = retry_after

    @property
    def extensions(self) -> dict[str, Any]:
        ext = super().extensions
        if self.retry_after is not None:
            ext["retryAfter"] = self.retry_after
        return ext


class PsaUnavailableError(PsaError):
    """5xx (after retries where retrying is sensible), or an unreadable response."""

    code = ErrorCode.PSA_UNAVAILABLE


class PsaTimeoutError(PsaError):
    """No answer within the client timeout, on every attempt."""

    code = ErrorCode.PSA_TIMEOUT


class PsaOutcomeUnknownError(PsaError):
    """A create (POST) was sent but no clear answer came back (read timeout, dropped
    connection, 5xx): ConnectWise may or may not hold the record. ConnectWise has no
    idempotency key, so it is never re-sent automatically; `cause` says what happened
    (`PSA_TIMEOUT` or `PSA_UNAVAILABLE`)."""

    code = ErrorCode.PSA_OUTCOME_UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        cause: str,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, status=status, request_id=request_id)
        self.cause = cause

    @property
    def extensions(self) -> dict[str, Any]:
        return {**super().extensions, "cause": self.cause}
