"""GraphQL errors that carry a stable `extensions.code` the client can branch on."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from core.error_codes import ErrorCode


class ApiError(GraphQLError):
    """A known, expected error: its message and code are safe to show the client."""

    code = ErrorCode.BAD_REQUEST

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": self.code, **extensions})


class Unauthenticated(ApiError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(ApiError):
    code = ErrorCode.FORBIDDEN


class BadUserInput(ApiError):
    code = ErrorCode.BAD_USER_INPUT


class NotFound(ApiError):
    code = ErrorCode.NOT_FOUND


class Conflict(ApiError):
    code = ErrorCode.CONFLICT


class FlowArchived(ApiError):
    code = ErrorCode.FLOW_ARCHIVED


class SessionNotLinked(ApiError):
    code = ErrorCode.SESSION_NOT_LINKED


class AliasOfItself(ApiError):
    code = ErrorCode.ALIAS_OF_ITSELF


class AliasChain(ApiError):
    code = ErrorCode.ALIAS_CHAIN


class AliasLimit(ApiError):
    code = ErrorCode.ALIAS_LIMIT


class UnknownDomain(ApiError):
    code = ErrorCode.UNKNOWN_DOMAIN


class PsaFailure(ApiError):
    """A PSA error: pass the typed error's `extensions` (its `code`, e.g. PSA_RATE_LIMITED)."""

    code = ErrorCode.PSA_ERROR
