"""Metric formulas that are not SQL: tiers, recency, quality, attention (rates are
`rows.Rate`, which every row with one has as a property).

Tiers compare exact ratios of counts (fractions), never rounded floats, so a rate of
exactly 0.75 is WARNING however it is printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from fractions import Fraction

from core.metrics.rows import SessionCounts

RECENCY_HORIZON_DAYS = 90
STALE_AFTER = timedelta(days=30)
# A float: comparing the float rates of large flow lists against a Fraction is slow,
# and 0.5 is exact in binary, so the comparison stays exact for floats and Fractions.
LOW_SUCCESS_RATE = 0.5


class Tier(Enum):
    GOOD = "GOOD"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class Attention(Enum):
    LOW_SUCCESS_RATE = "LOW_SUCCESS_RATE"
    STALE = "STALE"


def mean(total: float, count: int) -> float | None:
    return None if count == 0 else total / count


def _higher_is_better(value: Fraction, good_above: Fraction, warning_from: Fraction) -> Tier:
    if value > good_above:
        return Tier.GOOD
    if value >= warning_from:
        return Tier.WARNING
    return Tier.CRITICAL


def resolution_tier(rate: Fraction | None) -> Tier | None:
    """GOOD > 0.75, WARNING 0.50–0.75, CRITICAL < 0.50."""
    return None if rate is None else _higher_is_better(rate, Fraction(3, 4), Fraction(1, 2))


def guided_tier(rate: Fraction | None) -> Tier | None:
    """GOOD > 0.60, WARNING 0.30–0.60, CRITICAL < 0.30."""
    return None if rate is None else _higher_is_better(rate, Fraction(3, 5), Fraction(3, 10))


def escalation_tier(rate: Fraction | None) -> Tier | None:
    """GOOD < 0.10, WARNING 0.10–0.25, CRITICAL > 0.25."""
    if rate is None:
        return None
    if rate < Fraction(1, 10):
        return Tier.GOOD
    if rate <= Fraction(1, 4):
        return Tier.WARNING
    return Tier.CRITICAL


@dataclass(frozen=True, slots=True)
class SessionTiers:
    """A domain's three session tiers (None without sessions)."""

    resolution: Tier | None
    escalation: Tier | None
    guided: Tier | None


def session_tiers(counts: SessionCounts) -> SessionTiers:
    """The tiers of `counts` by integer cross-multiplication: the same answers as the
    Fraction-based functions above (a test checks it), without a Fraction per rate, which
    a heatmap of a hundred domains would build hundreds of times per request."""
    whole = counts.sessions
    if whole == 0:
        return SessionTiers(None, None, None)
    resolved, escalated, guided = counts.resolved, counts.escalated, counts.guided
    return SessionTiers(
        resolution=_by_counts(4 * resolved > 3 * whole, 2 * resolved >= whole),
        escalation=_by_counts(10 * escalated < whole, 4 * escalated <= whole),
        guided=_by_counts(5 * guided > 3 * whole, 10 * guided >= 3 * whole),
    )


def _by_counts(good: bool, warning: bool) -> Tier:
    if good:
        return Tier.GOOD
    return Tier.WARNING if warning else Tier.CRITICAL


def flow_count_tier(flow_count: int) -> Tier:
    """GOOD with 5 or more flows, WARNING with 1–4, CRITICAL with none."""
    if flow_count >= 5:
        return Tier.GOOD
    if flow_count >= 1:
        return Tier.WARNING
    return Tier.CRITICAL


def suggest_create_flow(flow_count: int, counts: SessionCounts) -> bool:
    """True when any of the domain's four tiers is CRITICAL."""
    return any_critical(flow_count_tier(flow_count), session_tiers(counts))


def any_critical(flow_tier: Tier, tiers: SessionTiers) -> bool:
    return Tier.CRITICAL in (flow_tier, tiers.resolution, tiers.escalation, tiers.guided)


def recency_score(last_matched_at: datetime | None, now: datetime) -> float:
    """1.0 when matched just now, decaying linearly to 0.0 at 90 days; 0 when never."""
    if last_matched_at is None:
        return 0.0
    days = (now - last_matched_at).total_seconds() / 86400
    return min(1.0, max(0.0, 1.0 - days / RECENCY_HORIZON_DAYS))


def quality_score(
    success_rate: float | Fraction | None, guided_rate: float | Fraction | None, recency: float
) -> float:
    """0.5 × success + 0.3 × guided + 0.2 × recency, a null rate counting as 0."""
    success = float(success_rate) if success_rate is not None else 0.0
    guided = float(guided_rate) if guided_rate is not None else 0.0
    return 0.5 * success + 0.3 * guided + 0.2 * recency


def attention_reasons(
    success_rate: float | Fraction | None, last_matched_at: datetime | None, now: datetime
) -> list[Attention]:
    """LOW_SUCCESS_RATE (< 0.5), then STALE (never matched, or 30+ days ago)."""
    reasons: list[Attention] = []
    if success_rate is not None and success_rate < LOW_SUCCESS_RATE:
        reasons.append(Attention.LOW_SUCCESS_RATE)
    if last_matched_at is None or now - last_matched_at >= STALE_AFTER:
        reasons.append(Attention.STALE)
    return reasons
