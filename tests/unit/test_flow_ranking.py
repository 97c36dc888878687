"""Flow ordering: every sort, both directions, ties by name then id, null success last."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from core.metrics.flow_ranking import (
    FlowSort,
    RankedFlow,
    bottom_performers,
    needing_attention,
    sort_flows,
    top_performers,
)
from core.metrics.rows import FlowPeriodStats, FlowRow

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
LOW = uuid.UUID("00000000-0000-0000-0000-000000000001")
HIGH = uuid.UUID("ffffffff-0000-0000-0000-000000000000")


def ranked(
    name: str,
    usage: int = 0,
    resolved: int = 0,
    guided: int = 0,
    matched_days_ago: float | None = None,
    flow_id: uuid.UUID | None = None,
) -> RankedFlow:
    matched = None if matched_days_ago is None else NOW - timedelta(days=matched_days_ago)
    row = FlowRow(flow_id or uuid.uuid4(), name, None, "published", usage, None, matched, None)
    return RankedFlow.of(row, FlowPeriodStats(usage, resolved, guided, None), NOW)


def names(flows: list[RankedFlow]) -> list[str]:
    return [
        f"{flow.row.name}:{'low' if flow.row.id == LOW else 'high'}"
        if flow.row.name == "Same"
        else flow.row.name
        for flow in flows
    ]


FLOWS = [
    ranked("m1", usage=2, resolved=1),  # success 0.5, quality 0.25
    ranked("Same", usage=1, resolved=1, flow_id=HIGH),  # success 1, quality 0.5
    ranked("n2"),  # success null, quality 0
    ranked("m3", usage=1),  # success 0, quality 0
    ranked("Same", usage=1, resolved=1, flow_id=LOW),
    ranked("m2", usage=1, resolved=1),
    ranked("n1"),
    ranked("m4", usage=1),
]


def test_quality_both_directions() -> None:
    assert names(sort_flows(FLOWS, FlowSort.QUALITY, descending=True)) == [
        "Same:low",
        "Same:high",
        "m2",
        "m1",
        "m3",
        "m4",
        "n1",
        "n2",
    ]
    assert names(sort_flows(FLOWS, FlowSort.QUALITY, descending=False)) == [
        "m3",
        "m4",
        "n1",
        "n2",
        "m1",
        "Same:low",
        "Same:high",
        "m2",
    ]


def test_usage_both_directions() -> None:
    assert names(sort_flows(FLOWS, FlowSort.USAGE, descending=True)) == [
        "m1",
        "Same:low",
        "Same:high",
        "m2",
        "m3",
        "m4",
        "n1",
        "n2",
    ]
    assert names(sort_flows(FLOWS, FlowSort.USAGE, descending=False)) == [
        "n1",
        "n2",
        "Same:low",
        "Same:high",
        "m2",
        "m3",
        "m4",
        "m1",
    ]


def test_success_rate_puts_nulls_last_both_ways() -> None:
    assert names(sort_flows(FLOWS, FlowSort.SUCCESS_RATE, descending=True)) == [
        "Same:low",
        "Same:high",
        "m2",
        "m1",
        "m3",
        "m4",
        "n1",
        "n2",
    ]
    assert names(sort_flows(FLOWS, FlowSort.SUCCESS_RATE, descending=False)) == [
        "m3",
        "m4",
        "m1",
        "Same:low",
        "Same:high",
        "m2",
        "n1",
        "n2",
    ]


def test_names_order_by_code_point() -> None:
    flows = [ranked("alpha"), ranked("Zeta"), ranked("Ärger"), ranked("beta")]
    assert names(sort_flows(flows, FlowSort.QUALITY, descending=True)) == [
        "Zeta",
        "alpha",
        "beta",
        "Ärger",
    ]


def test_top_and_bottom_take_at_most_five_used_flows() -> None:
    assert names(top_performers(FLOWS)) == ["Same:low", "Same:high", "m2", "m1", "m3"]
    assert names(bottom_performers(FLOWS)) == ["m3", "m4", "m1", "Same:low", "Same:high"]
    assert top_performers([ranked("unused")]) == []


def test_needing_attention_is_quality_ascending() -> None:
    flows = [
        ranked("fresh good", usage=2, resolved=2, matched_days_ago=1),  # not flagged
        ranked("fresh bad", usage=2, resolved=0, guided=2, matched_days_ago=1),
        ranked("stale good", usage=1, resolved=1, matched_days_ago=30),
        ranked("never"),
    ]
    # Quality: fresh bad 0.3 + 0.2 × (1 − 1/90); stale good 0.5 + 0.2 × (2/3); never 0.
    assert names(needing_attention(flows)) == ["never", "fresh bad", "stale good"]
    assert flows[0].needs_attention is False
    assert flows[2].needs_attention is True
