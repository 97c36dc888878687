"""The errors a refused query gets: too complex (never run) or over the account budget."""

from __future__ import annotations

from core.error_codes import ErrorCode
from core.errors import ApiError


class QueryTooComplex(ApiError):
    code = ErrorCode.QUERY_TOO_COMPLEX


class RateLimited(ApiError):
    code = ErrorCode.RATE_LIMITED

    def __init__(self, retry_after: float, message: str | None = None) -> None:
        super().__init__(
            message or f"query budget of this account is spent; retry in {retry_after:g} s",
            retryAfter=retry_after,
        )
