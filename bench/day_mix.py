"""The day's people and what they click, drawn once from a seed for both load generators.

The Python client (bench/day.py) and wrk (bench/day_wrk.py) replay the same people: more
team leads on larger accounts, a share of dashboards left polling the Overview, tab
weights 4:2:2:1, period switches, custom ranges and comparisons, an exponential think
time before every click, the first one included (so people start staggered, not at once).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

TABS = ("overview", "coverage", "flow-quality", "psa")
TAB_WEIGHTS = (4, 2, 2, 1)
PERIODS = ("LAST_7_DAYS", "LAST_30_DAYS", "LAST_90_DAYS")
OPERATION_TABS = {
    "OverviewTab": "overview",
    "CoverageTab": "coverage",
    "FlowQualityTab": "flow-quality",
    "PsaTab": "psa",
}
"""The tab of a request line's `operation` (the tab documents' operation names)."""


@dataclass(frozen=True)
class Person:
    """One team lead: the account whose page they open, and whether it is left polling."""

    account_id: uuid.UUID
    poller: bool
    seed: float


@dataclass(frozen=True)
class Click:
    """One request: which tab, its variables, and the think time before it is sent."""

    tab: str
    variables: dict[str, Any]
    think_s: float


def people(
    account_sizes: list[tuple[uuid.UUID, int]], viewers: int, poll_share: float, seed: int
) -> list[Person]:
    """More team leads on larger accounts (square root of size), at least one each."""
    rng = random.Random(seed)
    weights = [sessions**0.5 for _account, sessions in account_sizes]
    total = sum(weights) or 1.0
    accounts: list[uuid.UUID] = []
    for (account, _sessions), weight in zip(account_sizes, weights, strict=True):
        accounts += [account] * max(1, round(viewers * weight / total))
    return [Person(account, rng.random() < poll_share, rng.random()) for account in accounts]


def variables(rng: random.Random, tab: str, period: str, today: date) -> dict[str, Any]:
    """What a team lead's click asks: a period, sometimes a range or a comparison."""
    roll = rng.random()
    if roll < 0.1:
        # Last calendar month, a common custom range.
        last_month_end = today.replace(day=1) - timedelta(days=1)
        start = last_month_end.replace(day=1)
        return {"range": {"from": start.isoformat(), "to": last_month_end.isoformat()}}
    chosen: dict[str, Any] = {"period": period}
    if tab in ("overview", "psa") and roll < 0.35:
        chosen["compareTo"] = "PREVIOUS_PERIOD"
    return chosen


def clicks(person: Person, think_s: float, today: date) -> Iterator[Click]:
    """The person's clicks, endless: a poller reloads the Overview's 30 days."""
    rng = random.Random(person.seed)
    period = "LAST_30_DAYS"
    while True:
        think = rng.expovariate(1 / think_s)
        if person.poller:
            yield Click("overview", {"period": "LAST_30_DAYS"}, think)
            continue
        tab = rng.choices(TABS, weights=TAB_WEIGHTS)[0]
        if rng.random() < 0.3:
            period = rng.choice(PERIODS)
        yield Click(tab, variables(rng, tab, period, today), think)
