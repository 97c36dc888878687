"""The cost extension: refuse over-limit queries at validation, charge the account budget
before execution, and report the estimate in the response's `extensions.cost`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import ValidationContext, ValidationRule
from strawberry.extensions import SchemaExtension

from schema.limits.budget import BudgetRegistry
from schema.limits.cost import operation_cost
from schema.limits.errors import QueryTooComplex, RateLimited


class QueryCost(SchemaExtension):
    """Per request (strawberry makes one instance each): build with `functools.partial`."""

    def __init__(self, *, max_cost: int, budget: BudgetRegistry | None = None) -> None:
        self.max_cost = max_cost
        self.budget = budget
        self.cost: int | None = None

    def _rule(self) -> type[ValidationRule]:
        extension = self

        class CostRule(ValidationRule):
            def __init__(self, context: ValidationContext) -> None:
                super().__init__(context)
                execution = extension.execution_context
                extension.cost = operation_cost(
                    context.schema,
                    context.document.definitions,
                    execution.operation_name,
                    execution.variables,
                )
                if extension.cost > extension.max_cost:
                    self.report_error(
                        QueryTooComplex(
                            f"query cost {extension.cost} exceeds the limit of "
                            f"{extension.max_cost}",
                            cost=extension.cost,
                            maxCost=extension.max_cost,
                        )
                    )

        return CostRule

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*context.validation_rules, self._rule())
        yield

    def on_execute(self) -> Iterator[None]:
        retry_after = self._charge()
        if retry_after is not None:
            self.execution_context.result = GraphQLExecutionResult(
                data=None, errors=[RateLimited(retry_after)]
            )
        yield

    def _charge(self) -> float | None:
        if self.budget is None or self.cost is None:
            return None
        principal = getattr(self.execution_context.context, "principal", None)
        if principal is None:
            return None  # refused by the root guard before any SQL
        return self.budget.charge(str(principal.account_id), min(self.cost, self.budget.capacity))

    def get_results(self) -> dict[str, Any]:
        return {} if self.cost is None else {"cost": self.cost}
