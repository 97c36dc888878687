"""Cache outcomes in /metrics and in the request's log line."""

from __future__ import annotations

from prometheus_client import Counter

from service.observability.requests import note_cache

OUTCOMES = Counter(
    "flowpilot_response_cache",
    "Response cache lookups by outcome (hit, not_modified, miss, bypass) and reason.",
    ["outcome", "reason"],
)


def count(outcome: str, reason: str = "") -> None:
    OUTCOMES.labels(outcome=outcome, reason=reason).inc()
    note_cache(outcome if not reason else f"{outcome}:{reason}")
