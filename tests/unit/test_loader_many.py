"""AccountLoader.load_many answers as DataLoader's: values in key order from one batch,
cached or primed values without a statement, and the batch's error."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest

from resolvers.dataloaders.base import AccountLoader


class _Snapshot:
    account_id = uuid.uuid4()

    async def read(self, work: Callable[[Any], Awaitable[Any]]) -> Any:
        return await work(None)


class Doubles(AccountLoader[int, int]):
    def __init__(self) -> None:
        super().__init__(_Snapshot())  # type: ignore[arg-type]
        self.batches: list[list[int]] = []

    async def fetch(self, session: Any, keys: Sequence[int]) -> list[int]:
        self.batches.append(list(keys))
        if 13 in keys:
            raise ValueError("unlucky")
        return [2 * key for key in keys]


async def test_values_in_key_order_from_one_batch() -> None:
    loader = Doubles()
    assert await loader.load_many([3, 1, 2]) == [6, 2, 4]
    assert loader.batches == [[3, 1, 2]]
    assert await loader.load_many([2, 3, 4]) == [4, 6, 8]  # only 4 was new
    assert loader.batches == [[3, 1, 2], [4]]


async def test_values_at_hand_cost_no_batch() -> None:
    loader = Doubles()
    loader.prime(5, 50)
    await loader.load(6)
    found = loader.load_many([5, 6])
    assert found.done()
    assert await found == [50, 12]
    assert loader.batches == [[6]]


async def test_the_batch_error_reaches_the_caller() -> None:
    loader = Doubles()
    with pytest.raises(ValueError, match="unlucky"):
        await loader.load_many([1, 13])
    with pytest.raises(ValueError, match="unlucky"):
        await loader.load_many([13])  # the rejected value is cached, as DataLoader does
