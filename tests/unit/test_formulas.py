"""Metric formulas: exact ratios, tiers at their thresholds, recency, quality, attention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from core.metrics import formulas
from core.metrics.formulas import Attention, Tier
from core.metrics.rows import Rate, SessionCounts

GOOD, WARNING, CRITICAL = Tier.GOOD, Tier.WARNING, Tier.CRITICAL
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def test_rate_and_mean_are_null_on_an_empty_denominator() -> None:
    assert Rate(3, 4).exact == Fraction(3, 4)
    assert Rate(0, 0).exact is None
    assert Rate(0, 0).value is None
    assert Rate(1, 3).value == float(Fraction(1, 3)) == 1 / 3
    assert formulas.mean(7.5, 3) == 2.5
    assert formulas.mean(0.0, 0) is None


@pytest.mark.parametrize(
    ("part", "whole", "tier"),
    [
        (4, 5, GOOD),
        (76, 100, GOOD),
        (3, 4, WARNING),
        (1, 2, WARNING),
        (49, 100, CRITICAL),
        (0, 3, CRITICAL),
    ],
)
def test_resolution_tier(part: int, whole: int, tier: Tier) -> None:
    assert formulas.resolution_tier(Fraction(part, whole)) is tier


@pytest.mark.parametrize(
    ("part", "whole", "tier"),
    [
        (0, 5, GOOD),
        (9, 100, GOOD),
        (1, 10, WARNING),
        (1, 4, WARNING),
        (26, 100, CRITICAL),
        (2, 7, CRITICAL),
    ],
)
def test_escalation_tier(part: int, whole: int, tier: Tier) -> None:
    assert formulas.escalation_tier(Fraction(part, whole)) is tier


@pytest.mark.parametrize(
    ("part", "whole", "tier"),
    [
        (61, 100, GOOD),
        (1, 1, GOOD),
        (3, 5, WARNING),
        (3, 10, WARNING),
        (29, 100, CRITICAL),
        (1, 4, CRITICAL),
    ],
)
def test_guided_tier(part: int, whole: int, tier: Tier) -> None:
    assert formulas.guided_tier(Fraction(part, whole)) is tier


def test_a_ratio_that_prints_as_a_threshold_is_still_compared_exactly() -> None:
    # 7499/10000 rounds to 0.75 at two places but is below it.
    assert formulas.resolution_tier(Fraction(7499, 10000)) is WARNING
    assert formulas.resolution_tier(Fraction(7501, 10000)) is GOOD
    assert formulas.escalation_tier(Fraction(2501, 10000)) is CRITICAL


def test_null_rates_have_null_tiers() -> None:
    assert formulas.resolution_tier(None) is None
    assert formulas.escalation_tier(None) is None
    assert formulas.guided_tier(None) is None


@pytest.mark.parametrize(
    ("flows", "tier"), [(0, CRITICAL), (1, WARNING), (4, WARNING), (5, GOOD), (12, GOOD)]
)
def test_flow_count_tier(flows: int, tier: Tier) -> None:
    assert formulas.flow_count_tier(flows) is tier


def test_suggest_create_flow_when_any_tier_is_critical() -> None:
    fine = SessionCounts(sessions=4, resolved=3, escalated=1, guided=2)
    assert formulas.suggest_create_flow(1, fine) is False
    assert formulas.suggest_create_flow(0, fine) is True  # no flow
    assert formulas.suggest_create_flow(1, SessionCounts(sessions=4, resolved=1)) is True
    assert (
        formulas.suggest_create_flow(
            1, SessionCounts(sessions=4, resolved=4, escalated=2, guided=4)
        )
        is True
    )
    assert formulas.suggest_create_flow(1, SessionCounts(sessions=4, resolved=4, guided=1)) is True
    # No sessions: null tiers are not CRITICAL.
    assert formulas.suggest_create_flow(1, SessionCounts()) is False


@pytest.mark.parametrize(
    ("ago", "score"),
    [
        (None, 0.0),
        (timedelta(0), 1.0),
        (timedelta(days=9), 0.9),
        (timedelta(days=45), 0.5),
        (timedelta(days=90), 0.0),
        (timedelta(days=200), 0.0),
        (timedelta(days=-3), 1.0),
        (timedelta(hours=36), 1 - 1.5 / 90),
    ],
)
def test_recency_score(ago: timedelta | None, score: float) -> None:
    matched = None if ago is None else NOW - ago
    assert formulas.recency_score(matched, NOW) == pytest.approx(score, abs=1e-12)


def test_quality_score_counts_null_rates_as_zero() -> None:
    assert formulas.quality_score(Fraction(3, 4), Fraction(1, 2), 0.9) == pytest.approx(
        0.375 + 0.15 + 0.18
    )
    assert formulas.quality_score(None, None, 0.5) == pytest.approx(0.1)
    assert formulas.quality_score(Fraction(1), Fraction(1), 1.0) == pytest.approx(1.0)
    assert formulas.quality_score(None, None, 0.0) == 0.0


def test_attention_reasons_in_order() -> None:
    fresh = NOW - timedelta(days=1)
    assert formulas.attention_reasons(Fraction(1, 2), fresh, NOW) == []
    assert formulas.attention_reasons(Fraction(49, 100), fresh, NOW) == [Attention.LOW_SUCCESS_RATE]
    assert formulas.attention_reasons(None, fresh, NOW) == []
    assert formulas.attention_reasons(None, None, NOW) == [Attention.STALE]
    assert formulas.attention_reasons(Fraction(0), NOW - timedelta(days=30), NOW) == [
        Attention.LOW_SUCCESS_RATE,
        Attention.STALE,
    ]
    just_under = NOW - timedelta(days=30) + timedelta(microseconds=1)
    assert formulas.attention_reasons(Fraction(1), just_under, NOW) == []


def test_count_tiers_agree_with_the_fraction_tiers_everywhere() -> None:
    """Every part/whole up to 40 sessions, boundaries included (3/4, 1/2, 3/5, 3/10, 1/10,
    1/4 all occur), gets the same tier from integers as from exact fractions."""
    for whole in range(1, 41):
        for part in range(whole + 1):
            counts = SessionCounts(sessions=whole, resolved=part, escalated=part, guided=part)
            tiers = formulas.session_tiers(counts)
            assert tiers.resolution is formulas.resolution_tier(Fraction(part, whole))
            assert tiers.escalation is formulas.escalation_tier(Fraction(part, whole))
            assert tiers.guided is formulas.guided_tier(Fraction(part, whole))
    assert formulas.session_tiers(SessionCounts()) == formulas.SessionTiers(None, None, None)
