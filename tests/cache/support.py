"""Helpers of the cache suite: outcome counts from /metrics' registry, answers minus asOf."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY


def outcomes(outcome: str, reason: str = "") -> float:
    value = REGISTRY.get_sample_value(
        "flowpilot_response_cache_total", {"outcome": outcome, "reason": reason}
    )
    return value or 0.0


class Outcomes:
    """Counts of each outcome since it was made."""

    KINDS = (
        ("hit", ""),
        ("not_modified", ""),
        ("miss", ""),
        ("miss", "first_sight"),
        ("miss", "forged_entry"),
        ("miss", "future_entry"),
        ("bypass", "not_a_query"),
        ("bypass", "tier_unavailable"),
    )

    def __init__(self) -> None:
        self._start = {kind: outcomes(*kind) for kind in self.KINDS}

    def since(self, outcome: str, reason: str = "") -> int:
        return int(outcomes(outcome, reason) - self._start.get((outcome, reason), 0.0))


def without_as_of(value: Any) -> Any:
    """The answer without `asOf` (the instant each execution ran, which a hit keeps)."""
    if isinstance(value, dict):
        return {k: without_as_of(v) for k, v in value.items() if k != "asOf"}
    if isinstance(value, list):
        return [without_as_of(item) for item in value]
    return value
