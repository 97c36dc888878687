"""One cached answer: the exact bytes sent, their ETag and when they were computed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


class TierUnavailable(RuntimeError):
    """The shared tier did not answer in time; the request goes on uncached."""


@dataclass(frozen=True)
class Entry:
    body: bytes
    etag: str
    stored_at: float  # wall-clock seconds: entries cross processes and hosts

    @classmethod
    def of(cls, body: bytes, stored_at: float) -> Entry:
        digest = hashlib.sha256(body).hexdigest()[:32]
        return cls(body, f'"{digest}"', stored_at)

    @property
    def size(self) -> int:
        return len(self.body) + len(self.etag) + 64

    def encode(self) -> bytes:
        """`<stored_at> <etag>\\n<body>`: one Redis value, no second round trip."""
        return f"{self.stored_at!r} {self.etag}\n".encode() + self.body

    @classmethod
    def decode(cls, raw: bytes) -> Entry:
        head, _, body = raw.partition(b"\n")
        stored_at, _, etag = head.decode().partition(" ")
        return cls(body, etag, float(stored_at))
