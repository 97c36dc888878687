"""GraphQL errors that carry a stable `extensions.code` the client can branch on."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError


class ApiError(GraphQLError):
    """A known, expected error: its message and code are safe to show the client."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": self.code, **extensions})


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"


class NotFound(ApiError):
    code = "NOT_FOUND"


class Conflict(ApiError):
    code = "CONFLICT"


class FlowArchived(ApiError):
    code = "FLOW_ARCHIVED"


class SessionNotLinked(ApiError):
    code = "SESSION_NOT_LINKED"


class PsaFailure(ApiError):
    """A PSA error: pass the typed error's `extensions` (its `code`, e.g. PSA_RATE_LIMITED)."""

    code = "PSA_ERROR"
