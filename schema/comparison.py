"""Comparison with an earlier window: the `compareTo` argument and the change of one metric.

Changes are computed from exact values (fractions of counts where the metric is a
rate), and only turned into floats at the end, so a change of 0 is exactly 0.
"""

from __future__ import annotations

from enum import Enum
from fractions import Fraction

import strawberry

from core.metrics.rows import Rate
from core.metrics.window import Window

Number = int | float | Fraction


@strawberry.enum(description="Which earlier window the metrics are compared with.")
class ComparisonPeriod(Enum):
    PREVIOUS_PERIOD = strawberry.enum_value(
        "PREVIOUS_PERIOD",
        description="The same number of local days immediately before the window "
        "(for LAST_30_DAYS: the 30 days before those).",
    )


def comparison_window(window: Window, compare: ComparisonPeriod | None) -> Window | None:
    """The window to compare `window` with, or None when no comparison was asked for."""
    if compare is ComparisonPeriod.PREVIOUS_PERIOD:
        return window.previous()
    return None


@strawberry.type(
    description="One metric now and in the comparison window. For rates, `absolute` is "
    "the difference of the two fractions (0.05 = 5 percentage points)."
)
class MetricChange:
    current: float | None = strawberry.field(description="The value in the window.")
    previous: float | None = strawberry.field(description="The value in the comparison window.")
    absolute: float | None = strawberry.field(
        description="current − previous; null when either is null."
    )
    relative: float | None = strawberry.field(
        description="(current − previous) / previous, e.g. 0.25 = +25%; null when either "
        "is null or previous is 0."
    )


def _as_float(value: Number | None) -> float | None:
    return None if value is None else float(value)


def metric_change(current: Number | Rate | None, previous: Number | Rate | None) -> MetricChange:
    """The change from `previous` to `current`, exact until the final float (a rate's
    change is the difference of its exact fractions)."""
    current, previous = _number(current), _number(previous)
    absolute: Number | None = None
    relative: Number | None = None
    if current is not None and previous is not None:
        absolute = _exact(current) - _exact(previous)
        if previous != 0:
            relative = absolute / _exact(previous)
    return MetricChange(
        current=_as_float(current),
        previous=_as_float(previous),
        absolute=_as_float(absolute),
        relative=_as_float(relative),
    )


def _number(value: Number | Rate | None) -> Number | None:
    return value.exact if isinstance(value, Rate) else value


def _exact(value: Number) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(value)
