"""The cost of a (query text, operation, variables) worked out once per process.

A dashboard sends the same few documents with the same few variable sets all day; the
estimate walks the whole document each time, so it is kept in a small LRU instead. The
key is the exact text with canonical variables, so a hit is the same estimate."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Estimate:
    """What the cost extension decides on: introspection is exempt, else the cost."""

    introspection: bool
    cost: int


class CostCache:
    """A bounded LRU of estimates, shared by the requests of one schema."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str | None, str], Estimate] = OrderedDict()
        self._lock = threading.Lock()

    def estimate(
        self,
        query: str | None,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        compute: Callable[[], Estimate],
    ) -> Estimate:
        """The cached estimate, or `compute()` remembered (never cached without a text)."""
        if query is None or self.capacity <= 0:
            return compute()
        try:
            canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):
            return compute()
        key = (query, operation_name, canonical)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        estimate = compute()
        with self._lock:
            self._entries[key] = estimate
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return estimate
