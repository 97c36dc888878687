"""Give the errors of graphql-core validation rules a stable `extensions.code`.

Strawberry's limiters report plain GraphQLErrors; clients branch on codes, so each
rule is wrapped to stamp its errors with the code that says why the query was refused.
"""

from __future__ import annotations

from collections.abc import Callable

from graphql import ASTValidationRule, GraphQLError, ValidationContext


def with_code(error: GraphQLError, code: str) -> GraphQLError:
    """Stamp `code` onto the error unless it carries one already."""
    extensions = dict(error.extensions or {})
    extensions.setdefault("code", code)
    error.extensions = extensions
    return error


def coded_rule(rule: type[ASTValidationRule], code: str) -> type[ASTValidationRule]:
    """A subclass of `rule` whose errors (reported at construction or while visiting) carry
    `code`."""

    class CodedRule(rule):  # type: ignore[valid-type,misc]
        def __init__(self, context: ValidationContext) -> None:
            report: Callable[[GraphQLError], None] = context.on_error

            def tagged(error: GraphQLError) -> None:
                report(with_code(error, code))

            context.on_error = tagged  # type: ignore[method-assign]
            try:
                super().__init__(context)
            finally:
                context.on_error = report  # type: ignore[method-assign,assignment]

        def report_error(self, error: GraphQLError) -> None:
            super().report_error(with_code(error, code))

    CodedRule.__name__ = f"Coded{rule.__name__}"
    return CodedRule
