"""The cost estimate is worked out once per text, operation and variables; LRU-bounded."""

from __future__ import annotations

from schema.limits.cost_cache import CostCache, Estimate


def test_same_text_operation_and_variables_are_estimated_once() -> None:
    cache = CostCache(capacity=2)
    calls: list[str] = []

    def compute(label: str, cost: int) -> Estimate:
        calls.append(label)
        return Estimate(introspection=False, cost=cost)

    doc = "query T($p: Period) { overview(period: $p) { sessionCount } }"
    first = cache.estimate(doc, "T", {"p": "LAST_7_DAYS"}, lambda: compute("a", 12))
    again = cache.estimate(doc, "T", {"p": "LAST_7_DAYS"}, lambda: compute("b", 99))
    other = cache.estimate(doc, "T", {"p": "LAST_90_DAYS"}, lambda: compute("c", 40))
    assert (first.cost, again.cost, other.cost) == (12, 12, 40)
    assert calls == ["a", "c"]
    # A third entry drops the least recently used (LAST_7_DAYS was used before LAST_90_DAYS).
    cache.estimate(doc, None, None, lambda: compute("d", 5))
    assert cache.estimate(doc, "T", {"p": "LAST_7_DAYS"}, lambda: compute("e", 13)).cost == 13
    assert calls == ["a", "c", "d", "e"]


def test_no_text_or_unserializable_variables_are_never_cached() -> None:
    cache = CostCache()
    calls: list[int] = []

    def compute() -> Estimate:
        calls.append(1)
        return Estimate(introspection=True, cost=0)

    cache.estimate(None, None, None, compute)
    cache.estimate(None, None, None, compute)
    cache.estimate("{ a }", None, {"x": object()}, compute)
    cache.estimate("{ a }", None, {"x": object()}, compute)
    assert len(calls) == 4
