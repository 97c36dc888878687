"""The errors a refused query gets: too complex (never run) or over the account budget."""

from __future__ import annotations

from schema.errors import ApiError


class QueryTooComplex(ApiError):
    code = "QUERY_TOO_COMPLEX"


class RateLimited(ApiError):
    code = "RATE_LIMITED"

    def __init__(self, retry_after: float, message: str | None = None) -> None:
        super().__init__(
            message or f"query budget of this account is spent; retry in {retry_after:g} s",
            retryAfter=retry_after,
        )
