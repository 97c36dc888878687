"""`python -m bench.adopt_step [--enable-row-security]`: `python main.py migrate` without its
rollup build, so `bench migrate-live` can put a quiet window between the adoption and the
build (the next `migrate` finds the accounts queued and builds them, as after an
interruption). The same code as the command: service.cli.migrate.migrate_to.
"""

from __future__ import annotations

import asyncio
import sys

from service.cli.database import database, probe, resolve_target
from service.cli.migrate import migrate_to


async def _adopt(enable_row_security: bool) -> str:
    target = await resolve_target()
    await probe(target.url)
    async with database(target.url) as engine:
        return await migrate_to(engine, "head", enable_row_security)


def main() -> int:
    reached = asyncio.run(_adopt("--enable-row-security" in sys.argv[1:]))
    print(f"database schema at {reached}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
