"""The in-process tier: an LRU bounded in bytes (each worker has its own)."""

from __future__ import annotations

from collections import OrderedDict

from service.response_cache.entry import Entry


class MemoryTier:
    """Least recently used entries go first once `max_bytes` would be exceeded."""

    name = "memory"

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    async def get(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    async def set(self, key: str, entry: Entry, ttl_s: float) -> None:
        if entry.size > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.used -= old.size
        self._entries[key] = entry
        self.used += entry.size
        while self.used > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.used -= evicted.size

    def __len__(self) -> int:
        return len(self._entries)

    async def close(self) -> None:
        self._entries.clear()
        self.used = 0
