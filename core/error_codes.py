"""Every `extensions.code` a client can see, in one place.

Clients branch on these strings, so a member's value never changes once released. The
members are `str`s: they compare equal to, hash like and serialise as their text.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # A request the API understood and refused.
    BAD_REQUEST = "BAD_REQUEST"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    FLOW_ARCHIVED = "FLOW_ARCHIVED"
    SESSION_NOT_LINKED = "SESSION_NOT_LINKED"
    # Domain aliases refused (docs/api.md, "Domain aliases"); nothing is written.
    ALIAS_OF_ITSELF = "ALIAS_OF_ITSELF"
    ALIAS_CHAIN = "ALIAS_CHAIN"
    ALIAS_LIMIT = "ALIAS_LIMIT"
    UNKNOWN_DOMAIN = "UNKNOWN_DOMAIN"

    # The GraphQL document: parsing, validation and the abuse limits.
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    RATE_LIMITED = "RATE_LIMITED"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"

    # HTTP refusals before GraphQL runs.
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    CORS_NOT_ALLOWED = "CORS_NOT_ALLOWED"

    # Failures of the service itself (their messages are generic).
    INTERNAL = "INTERNAL"
    TIMEOUT = "TIMEOUT"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"

    # The PSA (ConnectWise) refused or failed a push.
    PSA_ERROR = "PSA_ERROR"
    PSA_NOT_CONFIGURED = "PSA_NOT_CONFIGURED"
    PSA_AUTH_FAILED = "PSA_AUTH_FAILED"
    PSA_FORBIDDEN = "PSA_FORBIDDEN"
    PSA_NOT_FOUND = "PSA_NOT_FOUND"
    PSA_INVALID_REQUEST = "PSA_INVALID_REQUEST"
    PSA_RATE_LIMITED = "PSA_RATE_LIMITED"
    PSA_UNAVAILABLE = "PSA_UNAVAILABLE"
    PSA_TIMEOUT = "PSA_TIMEOUT"
    PSA_OUTCOME_UNKNOWN = "PSA_OUTCOME_UNKNOWN"
    # An outbox row's `last_error` when a push was sent but its outcome is unknown.
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
