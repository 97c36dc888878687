"""CPU per in-process request of each tab document, for the checkout on PYTHONPATH.

Run by `python -m bench versus`, once per checkout and round, so two versions of the
API are measured side by side in one run. It uses only what every version has (the
served schema, the request context, the tab documents), and prints one JSON object.

    PYTHONPATH=<checkout> python bench/cpu_probe.py <database url> <repetitions> <period>
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

TABS = ("overview", "coverage", "flow-quality", "psa")
SECRET = "bench-cpu-probe-secret-0123456789abcdef"


async def probe_accounts(url: str) -> dict[str, Any]:
    """The accounts measured: the one with the most sessions, and the median one."""
    import asyncpg

    from persistence.engine import asyncpg_dsn

    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await connection.fetch(
            "SELECT account_id, count(*) AS n FROM ai_sessions GROUP BY account_id ORDER BY n DESC"
        )
    finally:
        await connection.close()
    return {"largest": rows[0]["account_id"], "median": rows[len(rows) // 2]["account_id"]}


def run(probe: Callable[[str, int, str], Coroutine[Any, Any, dict[str, Any]]]) -> None:
    """`probe` with the command line's database URL, repetitions and period; one JSON line."""
    url, repetitions, period = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    print(json.dumps(asyncio.run(probe(url, repetitions, period))))


async def probe(url: str, repetitions: int, period: str) -> dict[str, Any]:
    from core.auth import Principal
    from core.settings import Settings
    from persistence.engine import create_engine, create_sessionmaker
    from queries import tab_query
    from resolvers.context import RequestContext
    from schema.build import build_schema_for

    accounts = await probe_accounts(url)
    settings = Settings(database_url=url, jwt_secret=SECRET, demo=False, rate_limit_cost_per_s=0)
    schema = build_schema_for(settings)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)

    async def once(account_id: uuid.UUID, tab: str) -> float:
        context = RequestContext(
            settings=settings,
            sessionmaker=sessionmaker,
            read_sessionmaker=sessionmaker,
            principal=Principal(user_id=None, account_id=account_id, role="team_admin"),
        )
        started = time.process_time()
        result = await schema.execute(
            tab_query(tab), variable_values={"period": period}, context_value=context
        )
        cpu = time.process_time() - started
        if result.errors:
            raise RuntimeError(f"{tab}: {result.errors}")
        return cpu

    medians: dict[str, float] = {}
    try:
        for size, account_id in accounts.items():
            for tab in TABS:
                for _ in range(3):
                    await once(account_id, tab)
                samples = [await once(account_id, tab) for _ in range(repetitions)]
                medians[f"{size}/{tab}"] = statistics.median(samples) * 1000
    finally:
        await engine.dispose()
    return medians


if __name__ == "__main__":
    run(probe)
