"""Reporting windows: local calendar days of the account, as a half-open UTC interval."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class Window:
    """Local days `first_day`..`last_day` in `timezone`, i.e. [start, end) in absolute time.

    `now` is the request's fixed clock, so every number of one response agrees.
    Windows key the loaders' caches (a large Coverage looks up hundreds of (window, flow)
    keys), so the hash of its four fields, an aware datetime's among them, is kept.
    """

    first_day: date
    last_day: date
    timezone: str
    now: datetime
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = (self.first_day, self.last_day, self.timezone, self.now)
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[Window], tuple[date, date, str, datetime]]:
        # Rebuilt from its fields: a str's hash differs from one process to another.
        return (Window, (self.first_day, self.last_day, self.timezone, self.now))

    @property
    def zone(self) -> ZoneInfo:
        return zone_or_utc(self.timezone)

    @property
    def start(self) -> datetime:
        return local_midnight(self.first_day, self.zone)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last_day + timedelta(days=1), self.zone)

    @property
    def days(self) -> list[date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=offset) for offset in range(count)]

    @property
    def length(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def previous(self) -> Window:
        """The window of equal length that ends the day before this one starts."""
        shift = timedelta(days=self.length)
        return Window(self.first_day - shift, self.last_day - shift, self.timezone, self.now)


def zone_or_utc(name: str) -> ZoneInfo:
    """The IANA zone, or UTC when the stored name is unknown (never fail a whole tab)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of `day` in `zone` (a skipped midnight resolves forward)."""
    naive = datetime.combine(day, time.min)
    aware = naive.replace(tzinfo=zone)
    # Round-trip through UTC: a non-existent local time (DST gap) maps to the real instant.
    return aware.astimezone(ZoneInfo("UTC")).astimezone(zone)


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(zone_or_utc(timezone)).date()


def last_days(days: int, timezone: str, now: datetime) -> Window:
    """The last `days` local calendar days, today included."""
    today = local_today(now, timezone)
    return Window(today - timedelta(days=days - 1), today, timezone, now)
