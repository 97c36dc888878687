"""Reporting windows: local calendar days as half-open UTC intervals, DST included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from core.metrics.window import Window, last_days, local_today


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# Window bounds are compared in UTC: Python subtracts same-zone datetimes on the wall
# clock and never finds an ambiguous local time equal to another zone's instant.


def test_seven_days_in_utc() -> None:
    window = last_days(7, "UTC", utc(2026, 11, 27, 5, 15))
    assert (window.first_day, window.last_day) == (date(2026, 11, 21), date(2026, 11, 27))
    assert window.start.astimezone(UTC) == utc(2026, 11, 21)
    assert window.end.astimezone(UTC) == utc(2026, 11, 28)
    assert window.days == [date(2026, 11, 21) + timedelta(days=n) for n in range(7)]
    assert window.length == 7


def test_today_is_the_local_day_not_the_utc_day() -> None:
    # 03:00 UTC on the 27th is still the evening of the 26th in New York (EST, -5).
    now = utc(2026, 11, 27, 3, 0)
    assert local_today(now, "America/New_York") == date(2026, 11, 26)
    window = last_days(7, "America/New_York", now)
    assert window.last_day == date(2026, 11, 26)
    assert window.start.astimezone(UTC) == utc(2026, 11, 20, 5)
    assert window.end.astimezone(UTC) == utc(2026, 11, 27, 5)
    # East of UTC: 22:00 UTC on the 26th is already the 27th in Tokyo (+9).
    assert local_today(utc(2026, 11, 26, 22), "Asia/Tokyo") == date(2026, 11, 27)


def test_a_window_across_spring_forward_starts_in_the_old_offset() -> None:
    # New York switched to EDT (-4) on 8 March 2026; 14 February is EST (-5).
    window = last_days(30, "America/New_York", utc(2026, 3, 15, 12))
    assert window.first_day == date(2026, 2, 14)
    assert window.start.astimezone(UTC) == utc(2026, 2, 14, 5)
    assert window.end.astimezone(UTC) == utc(2026, 3, 16, 4)
    assert len(window.days) == 30
    # 30 local days minus the hour the clocks skipped.
    assert window.end - window.start.astimezone(UTC) == timedelta(days=30, hours=-1)


def test_a_window_across_fall_back_starts_in_the_old_offset() -> None:
    # EDT (-4) on 29 October, EST (-5) since 1 November 2026.
    window = last_days(30, "America/New_York", utc(2026, 11, 27, 5, 15))
    assert window.start.astimezone(UTC) == utc(2026, 10, 29, 4)
    assert window.end.astimezone(UTC) == utc(2026, 11, 28, 5)
    assert window.end - window.start.astimezone(UTC) == timedelta(days=30, hours=1)


def test_a_skipped_midnight_starts_the_day_at_its_first_real_instant() -> None:
    # Santiago skips 00:00–01:00 on 6 September 2026 (-4 to -3): the day starts at 04:00 UTC.
    window = Window(date(2026, 9, 6), date(2026, 9, 6), "America/Santiago", utc(2026, 9, 6, 12))
    assert window.start.astimezone(UTC) == utc(2026, 9, 6, 4)
    assert window.end.astimezone(UTC) == utc(2026, 9, 7, 3)


def test_a_repeated_midnight_starts_the_day_at_its_first_occurrence() -> None:
    # Havana falls back from 01:00 to 00:00 on 1 November 2026: midnight happens twice.
    window = Window(date(2026, 11, 1), date(2026, 11, 1), "America/Havana", utc(2026, 11, 1, 12))
    assert window.start.astimezone(UTC) == utc(2026, 11, 1, 4)
    assert window.end.astimezone(UTC) == utc(2026, 11, 2, 5)


def test_previous_window_has_the_same_length_and_ends_the_day_before() -> None:
    window = last_days(7, "Europe/Berlin", utc(2026, 11, 27, 12))
    previous = window.previous()
    assert (previous.first_day, previous.last_day) == (date(2026, 11, 14), date(2026, 11, 20))
    assert previous.end.astimezone(UTC) == window.start.astimezone(UTC)


def test_an_unknown_zone_falls_back_to_utc() -> None:
    window = last_days(7, "Mars/Olympus_Mons", utc(2026, 11, 27, 23, 30))
    assert window.last_day == date(2026, 11, 27)
    assert window.start.astimezone(UTC) == utc(2026, 11, 21)


def test_windows_are_hashable_keys_equal_by_value() -> None:
    now = utc(2026, 11, 27, 12)
    assert last_days(30, "UTC", now) == last_days(30, "UTC", now)
    assert len({last_days(30, "UTC", now), last_days(30, "UTC", now)}) == 1
    assert last_days(30, "UTC", now) != last_days(7, "UTC", now)
