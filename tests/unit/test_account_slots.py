"""One account's requests beyond the limit wait for its own, and nobody else's."""

from __future__ import annotations

import asyncio

import pytest

from service.pipeline.account_slots import AccountSlots, SlotsBusy


async def test_an_account_beyond_its_limit_waits_and_another_does_not() -> None:
    slots = AccountSlots(limit=2)
    release = asyncio.Event()
    running: list[str] = []

    async def request(account: str) -> None:
        async with slots.hold(account, None):
            running.append(account)
            await release.wait()

    tasks = [asyncio.create_task(request("abuser")) for _ in range(5)]
    tasks.append(asyncio.create_task(request("other")))
    await asyncio.sleep(0.01)
    assert running.count("abuser") == 2 and running.count("other") == 1
    assert slots.in_use("abuser") == 5  # two working, three parked
    release.set()
    await asyncio.gather(*tasks)
    assert running.count("abuser") == 5
    assert slots.in_use("abuser") == 0 and slots._slots == {}  # nothing kept for idle accounts


async def test_a_wait_longer_than_allowed_is_refused() -> None:
    slots = AccountSlots(limit=1)
    async with slots.hold("a", None):
        with pytest.raises(SlotsBusy):
            async with slots.hold("a", 0.01):
                pass
    assert slots._slots == {}
    async with slots.hold("a", 0.01):  # free again
        pass
