"""Strawberry's depth, alias, token and introspection guards, with error codes attached."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from core.error_codes import ErrorCode
from schema.limits.coded import coded_rule, with_code


class DepthLimit(QueryDepthLimiter):
    def __init__(self, max_depth: int) -> None:
        super().__init__(max_depth=max_depth)
        self.validation_rules = [
            coded_rule(r, ErrorCode.QUERY_TOO_COMPLEX) for r in self.validation_rules
        ]


class AliasLimit(MaxAliasesLimiter):
    def __init__(self, max_aliases: int) -> None:
        super().__init__(max_alias_count=max_aliases)
        self.validation_rules = [
            coded_rule(r, ErrorCode.QUERY_TOO_COMPLEX) for r in self.validation_rules
        ]


class TokenLimit(MaxTokensLimiter):
    """graphql-core aborts parsing past the limit; that refusal is QUERY_TOO_COMPLEX."""

    def on_parse(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            if "tokens" in error.message and "Parsing aborted" in error.message:
                error.extensions = {**(error.extensions or {}), "code": ErrorCode.QUERY_TOO_COMPLEX}


class NoIntrospection(DisableIntrospection):
    def __init__(self) -> None:
        super().__init__()
        self.validation_rules = [
            coded_rule(r, ErrorCode.INTROSPECTION_DISABLED) for r in self.validation_rules
        ]


class ErrorCodes(SchemaExtension):
    """Every parse or validation error leaves with a code (kept if a rule set one)."""

    def on_parse(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            with_code(error, ErrorCode.GRAPHQL_PARSE_FAILED)

    def on_validate(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            with_code(error, ErrorCode.GRAPHQL_VALIDATION_FAILED)
