"""How comparable a window is: its days before the first data day, and a day in progress."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from core.metrics.comparability import last_day_in_progress, share_before_data
from core.metrics.window import Window


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


NOW = utc(2026, 12, 6, 12)


def window(first: date, last: date, zone: str = "UTC", now: datetime = NOW) -> Window:
    return Window(first, last, zone, now)


def test_the_share_counts_whole_days_before_the_first_data_day() -> None:
    ten_days = window(date(2026, 11, 1), date(2026, 11, 10))
    assert share_before_data(ten_days, date(2026, 11, 6)) == Fraction(5, 10)
    # The first data day itself is a day with data; the day before is not.
    assert share_before_data(ten_days, date(2026, 11, 1)) == 0
    assert share_before_data(ten_days, date(2026, 11, 2)) == Fraction(1, 10)
    assert share_before_data(ten_days, date(2026, 11, 10)) == Fraction(9, 10)
    # Data from after the window only: all of it precedes the data.
    assert share_before_data(ten_days, date(2026, 11, 11)) == 1
    assert share_before_data(ten_days, date(2027, 1, 1)) == 1
    assert share_before_data(ten_days, date(2026, 10, 1)) == 0
    assert share_before_data(ten_days, None) == 1


def test_ninety_days_against_data_of_one_hundred_and_twenty() -> None:
    # The demo's case: data from 120 days ago, LAST_90_DAYS compared with the 90 before.
    today = date(2026, 12, 6)
    current = window(today - timedelta(days=89), today)
    previous = current.previous()
    first = today - timedelta(days=119)
    assert share_before_data(current, first) == 0
    assert (previous.first_day, previous.last_day) == (date(2026, 6, 10), date(2026, 9, 7))
    # 2026-06-10 .. 2026-08-08 (21 + 31 + 8 days) precede 2026-08-09: 60 of the 90.
    assert first == date(2026, 8, 9)
    assert share_before_data(previous, first) == Fraction(60, 90)


def test_a_window_ending_today_is_in_progress_until_local_midnight() -> None:
    # New York is EST (-5) in December: the 6th runs 05:00 UTC on the 6th to 05:00 on the 7th.
    day = date(2026, 12, 6)
    assert last_day_in_progress(window(day, day, "America/New_York", utc(2026, 12, 7, 4, 59)))
    assert not last_day_in_progress(window(day, day, "America/New_York", utc(2026, 12, 7, 5)))
    assert last_day_in_progress(window(day, day, "America/New_York", utc(2026, 12, 6, 5)))
    # 03:00 UTC on the 6th is still the 5th in New York: a window ending the 5th runs on.
    fifth = date(2026, 12, 5)
    assert last_day_in_progress(window(fifth, fifth, "America/New_York", utc(2026, 12, 6, 3)))
    assert not last_day_in_progress(window(fifth, fifth, "UTC", utc(2026, 12, 6, 3)))
    # Tokyo (+9) is on the 7th at 15:00 UTC on the 6th: the 6th has ended there.
    assert not last_day_in_progress(window(day, day, "Asia/Tokyo", utc(2026, 12, 6, 15)))


def test_a_day_of_twenty_five_hours_is_in_progress_for_all_of_them() -> None:
    # New York fell back on 1 November 2026: the day runs 04:00 UTC to 05:00 UTC next day.
    day = date(2026, 11, 1)
    assert last_day_in_progress(window(day, day, "America/New_York", utc(2026, 11, 2, 4, 30)))
    assert not last_day_in_progress(window(day, day, "America/New_York", utc(2026, 11, 2, 5)))
