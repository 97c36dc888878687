"""`python main.py recalc-success-rates`: recalculate every flow's success rate now.

It waits for the advisory lock, so a run started while a server's periodic job (or
another CLI run) is recalculating goes after it rather than alongside it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from persistence.success_rates import RecalcResult, recalculate_success_rates
from service.cli.migrate import database_at_head


async def recalc() -> RecalcResult:
    async with database_at_head() as engine:
        result = await recalculate_success_rates(engine, wait=True)
    assert result is not None  # waiting for the lock always ends in a run
    return result


def cmd_recalc_success_rates(args: argparse.Namespace) -> int:
    result = asyncio.run(recalc())
    print(
        f"success rates recalculated: {result.flows} flows in {result.accounts} accounts, "
        f"{result.changed} changed, in {result.duration_s:.3f} s",
        file=sys.stderr,
    )
    return 0
