"""When and how long to wait before retrying a PSA request.

ConnectWise publishes no rate limit, but the CDN in front of it answers 429 under load
and gateways answer 502/503; a short, bounded, jittered wait absorbs both without
piling synchronized retries onto a struggling tenant.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """`max_retries` retries after the first attempt, so at most `max_retries + 1` requests.

    `sleep` and `rand` are injectable so tests neither wait nor depend on chance.
    A `Retry-After` longer than `max_retry_after` is not waited out: the caller gets a
    rate-limited error carrying it instead of a request held open for minutes.
    """

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 20.0
    max_retry_after: float = 60.0
    sleep: Sleep = field(default=asyncio.sleep, compare=False)
    rand: Callable[[], float] = field(default=random.random, compare=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("backoff times must be >= 0")

    def may_retry(self, attempt: int) -> bool:
        """Whether a failed attempt number `attempt` (1-based) may be followed by another."""
        return attempt <= self.max_retries

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random, capped."""
        cap = min(self.backoff_max, self.backoff_base * (2.0 ** (attempt - 1)))
        return cap / 2 + self.rand() * cap / 2


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)
