"""How many sessions each chunk of a rollup build takes: sized by time, not by count.

A product write to an account waits for the build's chunk in progress, so what matters
is how long a chunk holds the account, not how many sessions it has: a session of the
largest account, on a loaded machine, costs many times one of a small account on an idle
one. A build therefore aims every chunk at a target duration
(ROLLUP_BUILD_CHUNK_TARGET_MS): after each chunk it measures the rate (sessions per
second) and sizes the next one from the slowest rate of the last few chunks. It shrinks
at once when a chunk overshoots the target and grows by at most half per chunk when
chunks come in under it, so one fast chunk (a quiet moment, a cached page) never makes
the next one long. Sizes stay within [MIN_CHUNK, MAX_CHUNK]; every account starts at
START_CHUNK. An explicit size (`rebuild-rollups --chunk N`) is kept for every chunk.

The sizer only does arithmetic on the seconds it is given, so it is tested without a
clock (tests/unit/test_chunk_sizing.py).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

DEFAULT_TARGET_MS = 200
"""What a chunk aims to take: well under the product's usual 1 s lock timeout, so a chunk
that runs long on a busy machine still ends before a write waiting behind it gives up."""

START_CHUNK = 100
"""Each account's first chunk: short even for the largest account on a loaded machine
(about 0.3 s at 3 ms a session), and six chunks later a cheap account is at 1,000."""

MIN_CHUNK = 10
"""The fewest sessions a sized chunk takes, however slow: the build always moves on."""

MAX_CHUNK = 10_000
"""The most a sized chunk takes, however fast: bounds what one misjudged chunk can cost."""

GROWTH = 1.5
"""A chunk under the target lets the next grow by at most this factor."""

WINDOW = 3
"""How many of the last chunks' rates are kept; the slowest of them sizes the next."""


@dataclass(frozen=True)
class ChunkSizing:
    """The sizing rule of a build: a target duration, or a fixed number of sessions."""

    target_s: float | None = DEFAULT_TARGET_MS / 1000
    start: int = START_CHUNK
    minimum: int = MIN_CHUNK
    maximum: int = MAX_CHUNK

    def __post_init__(self) -> None:
        if self.target_s is not None and not self.target_s > 0:
            raise ValueError(f"a chunk's target duration must be above 0 s, got {self.target_s}")
        if not 1 <= self.minimum <= self.maximum:
            raise ValueError(f"chunk bounds must be 1 <= {self.minimum} <= {self.maximum}")
        if self.start < 1:
            raise ValueError(f"a chunk must take at least 1 session, got {self.start}")

    @classmethod
    def fixed(cls, sessions: int) -> ChunkSizing:
        """Every chunk `sessions` sessions, as before chunks were sized by time."""
        return cls(target_s=None, start=sessions, minimum=1, maximum=max(1, sessions))

    @classmethod
    def of(cls, chunk: ChunkSizing | int) -> ChunkSizing:
        """A sizing as given, or a fixed one for a plain number of sessions."""
        return chunk if isinstance(chunk, ChunkSizing) else cls.fixed(chunk)

    @classmethod
    def targeting(cls, target_ms: float) -> ChunkSizing:
        return cls(target_s=target_ms / 1000)

    @property
    def is_fixed(self) -> bool:
        return self.target_s is None

    def sizer(self) -> ChunkSizer:
        """A fresh sizer, for one account's build."""
        return ChunkSizer(self)

    def describe(self) -> str:
        """For the line a build starts with: the rule, and where it comes from."""
        if self.target_s is None:
            return f"chunks of {self.start} sessions (--chunk)"
        return (
            f"chunks sized to take about {self.target_s * 1000:g} ms (ROLLUP_BUILD_CHUNK_TARGET_MS)"
        )


class ChunkSizer:
    """The next chunk's size of one account's build, from the chunks measured so far."""

    def __init__(self, sizing: ChunkSizing) -> None:
        self.sizing = sizing
        self.size = sizing.start if sizing.is_fixed else self._clamp(sizing.start)
        self._rates: deque[float] = deque(maxlen=WINDOW)

    def _clamp(self, sessions: float) -> int:
        # The millionth keeps a rate measured as 199.9999... sessions from flooring to 199.
        whole = math.floor(sessions + 1e-6)
        return max(self.sizing.minimum, min(self.sizing.maximum, whole))

    def record(self, seconds: float) -> int:
        """The chunk of `self.size` sessions took `seconds`: the next chunk's size.

        The target times the slowest of the last rates, at most GROWTH times this chunk:
        after a chunk over the target that is below this chunk's size at once (in the
        proportion it overshot, or more); chunks under it let the next grow gently."""
        target = self.sizing.target_s
        if target is not None:
            self._rates.append(self.size / max(seconds, 1e-6))
            self.size = self._clamp(min(target * min(self._rates), self.size * GROWTH))
        return self.size
