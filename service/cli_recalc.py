"""`python main.py recalc-success-rates`: recalculate every flow's success rate now.

It waits for the advisory lock, so a run started while a server's periodic job (or
another CLI run) is recalculating goes after it rather than alongside it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from persistence.engine import create_engine
from persistence.success_rates import RecalcResult, recalculate_success_rates
from service.cli_commands import prepare_embedded
from service.cli_database import probe, require_head, resolve_target


async def recalc(url: str) -> RecalcResult:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        result = await recalculate_success_rates(engine, wait=True)
    finally:
        await engine.dispose()
    assert result is not None  # waiting for the lock always ends in a run
    return result


def cmd_recalc_success_rates(args: argparse.Namespace) -> int:
    target = resolve_target()
    asyncio.run(probe(target.url))
    if target.embedded:
        prepare_embedded(target)
    else:
        asyncio.run(require_head(target.url))
    result = asyncio.run(recalc(target.url))
    print(
        f"success rates recalculated: {result.flows} flows in {result.accounts} accounts, "
        f"{result.changed} changed, in {result.duration_s:.3f} s",
        file=sys.stderr,
    )
    return 0
