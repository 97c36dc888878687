"""Counting the calls of a function while it still runs: how a test checks that a step
happened once, or not at all."""

from __future__ import annotations

from typing import Any

import pytest


def counted(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[object]:
    """The arguments of each call of `owner.name` from now on (each call still runs)."""
    calls: list[object] = []
    original = getattr(owner, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls
