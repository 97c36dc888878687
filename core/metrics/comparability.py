"""How comparable a window is: how much of it precedes the account's first data, and
whether its last day is still going on.

A window that starts before the account's first session holds fewer days of data than
its length says, so a change against it is not a like-for-like comparison; a window
ending today holds only part of today. Both are facts a client needs before it colours
a change as better or worse.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from core.metrics.window import Window


def share_before_data(window: Window, first_data_day: date | None) -> Fraction:
    """The share of the window's days before `first_data_day` (all of them without data)."""
    if first_data_day is None:
        return Fraction(1)
    before = (min(first_data_day, window.last_day + timedelta(days=1)) - window.first_day).days
    return Fraction(max(before, 0), window.length)


def last_day_in_progress(window: Window) -> bool:
    """Whether the window's last local day has not ended at the request's instant."""
    return window.start <= window.now < window.end
