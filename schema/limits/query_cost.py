"""The cost extension: refuse over-limit queries and charge the account budget before
execution (so no SQL runs), and report the estimate in the response's `extensions.cost`.

It runs after validation rather than as a validation rule, because the cost depends on
variables and validation results are cached per query text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from schema.limits.budget import BudgetRegistry
from schema.limits.cost import operation_cost
from schema.limits.cost_cache import CostCache, Estimate
from schema.limits.errors import QueryTooComplex, RateLimited
from schema.limits.introspection import is_introspection_operation


class QueryCost(SchemaExtension):
    """Per request (strawberry makes one instance each): build with `functools.partial`."""

    def __init__(
        self,
        *,
        max_cost: int,
        budget: BudgetRegistry | None = None,
        estimates: CostCache | None = None,
    ) -> None:
        self.max_cost = max_cost
        self.budget = budget
        self.estimates = estimates or CostCache(capacity=0)
        self.cost: int | None = None

    def _estimate(self) -> Estimate:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None
        if is_introspection_operation(document, context.operation_name):
            return Estimate(introspection=True, cost=0)
        cost = operation_cost(
            context.schema._schema, document.definitions, context.operation_name, context.variables
        )
        return Estimate(introspection=False, cost=cost)

    async def on_execute(self) -> AsyncIterator[None]:
        """Runs after validation, before any resolver: refuse, charge, or let it run (a
        coroutine: a budget shared through Redis answers over the network)."""
        context = self.execution_context
        estimate = self.estimates.estimate(
            context.query, context.operation_name, context.variables, self._estimate
        )
        if estimate.introspection:
            yield  # never refused by cost: schema/limits/introspection.py says why
            return
        self.cost = estimate.cost
        if self.cost > self.max_cost:
            await self._spend(self.max_cost)  # refused, but it was sent: as the costliest allowed
            refusal = QueryTooComplex(
                f"query cost {self.cost} exceeds the limit of {self.max_cost}",
                cost=self.cost,
                maxCost=self.max_cost,
            )
            context.result = GraphQLExecutionResult(data=None, errors=[refusal])
        else:
            retry_after = await self._charge()
            if retry_after is not None:
                context.result = GraphQLExecutionResult(
                    data=None, errors=[RateLimited(retry_after)]
                )
        yield

    def _account(self) -> str | None:
        principal = getattr(self.execution_context.context, "principal", None)
        return None if principal is None else str(principal.account_id)

    async def _charge(self) -> float | None:
        account = self._account()
        if self.budget is None or self.cost is None or account is None:
            return None  # no budget, or no caller (refused before any SQL)
        return await self.budget.acharge(account, min(self.cost, self.budget.capacity))

    async def _spend(self, cost: int) -> None:
        account = self._account()
        if self.budget is not None and account is not None:
            await self.budget.aspend(account, cost)

    def get_results(self) -> dict[str, Any]:
        return {} if self.cost is None else {"cost": self.cost}
