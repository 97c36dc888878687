"""Limits on what one query, and one account, may ask of the service."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from strawberry.extensions import AddValidationRules, SchemaExtension

from core.settings import Settings
from schema.limits.budget import BudgetRegistry
from schema.limits.cost_cache import CostCache
from schema.limits.query_cost import QueryCost
from schema.limits.static import (
    AliasLimit,
    DepthLimit,
    ErrorCodes,
    NoIntrospection,
    TokenLimit,
)
from schema.validation_cache import cached_validation

ExtensionFactory = Callable[[], SchemaExtension]


def account_budget(settings: Settings) -> BudgetRegistry | None:
    """The per-account cost budget `settings` asks for (None when it is off)."""
    if settings.rate_limit_cost_per_s <= 0:
        return None
    return BudgetRegistry(settings.rate_limit_burst_cost, settings.rate_limit_cost_per_s)


def limit_extensions(
    settings: Settings, budget: BudgetRegistry | None = None
) -> list[ExtensionFactory]:
    """Factories (one fresh extension per request) for the limits `settings` asks for.

    The budget registry (given, so the HTTP view can share it, or made here) is made once,
    so every request of this schema shares it.
    """
    if budget is None:
        budget = account_budget(settings)
    # Rule classes are made once here, so validation results can be cached per query text.
    static_limits: list[AddValidationRules] = [
        DepthLimit(settings.max_query_depth),
        AliasLimit(settings.max_query_aliases),
    ]
    if not settings.introspection:
        static_limits.append(NoIntrospection())
    rules = [rule for limit in static_limits for rule in limit.validation_rules]
    return [
        ErrorCodes,
        partial(TokenLimit, max_token_count=settings.max_query_tokens),
        partial(AddValidationRules, rules),
        partial(QueryCost, max_cost=settings.max_query_cost, budget=budget, estimates=CostCache()),
        cached_validation(),
    ]
