"""`python -m bench write-cost`: what the data-version triggers add to a write.

The same single-session writes (insert, resolve, PSA activity; one transaction each, as
the product writes them) on one account, in alternating rounds with the data-version
triggers enabled and disabled, side by side in one run, so the difference holds on a
shared machine. Rows written are deleted at the end. Only for a benchmark database: it
disables triggers (as the table owner) for the "without" rounds.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg

from bench.stats import percentile
from persistence.engine import asyncpg_dsn

TABLES = ("ai_sessions", "psa_activity_log", "trees", "accounts")
OPERATIONS = ("insert", "update", "delete")


async def _toggle(connection: asyncpg.Connection, enabled: bool) -> None:
    verb = "ENABLE" if enabled else "DISABLE"
    for table in TABLES:
        for operation in OPERATIONS:
            await connection.execute(
                f"ALTER TABLE {table} {verb} TRIGGER data_version_{table}_{operation}"
            )


async def _write_round(
    connection: asyncpg.Connection, account: uuid.UUID, writes: int, made: list[uuid.UUID]
) -> list[float]:
    timings: list[float] = []
    for index in range(writes):
        session_id = uuid.uuid4()
        started = time.perf_counter()
        async with connection.transaction():
            await connection.execute(
                "SELECT set_config('app.current_account_id', $1, true)", str(account)
            )
            if index % 3 == 0 or not made:
                await connection.execute(
                    "INSERT INTO ai_sessions (id, account_id, problem_domain, status, "
                    "started_at, psa_ticket_id) VALUES ($1, $2, 'Email', 'active', now(), '7')",
                    session_id,
                    account,
                )
                made.append(session_id)
            elif index % 3 == 1:
                await connection.execute(
                    "UPDATE ai_sessions SET status = 'resolved', resolved_at = now() WHERE id = $1",
                    made[-1],
                )
            else:
                await connection.execute(
                    "INSERT INTO psa_activity_log (id, account_id, session_id, activity_type, "
                    "psa_ticket_id, external_id) VALUES ($1, $2, $3, 'note_posted', '7', $4)",
                    uuid.uuid4(),
                    account,
                    made[-1],
                    uuid.uuid4().hex,
                )
        timings.append(time.perf_counter() - started)
    return timings


async def write_cost(url: str, rounds: int = 4, writes: int = 150) -> dict[str, Any]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    made: list[uuid.UUID] = []
    results: dict[str, list[float]] = {"with": [], "without": []}
    try:
        account = await connection.fetchval(
            "SELECT account_id FROM ai_sessions GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        await _write_round(connection, account, 30, made)  # warm up
        for _ in range(rounds):
            for enabled in (True, False):
                await _toggle(connection, enabled)
                key = "with" if enabled else "without"
                results[key] += await _write_round(connection, account, writes, made)
    finally:
        await _toggle(connection, True)
        await connection.execute(
            "DELETE FROM psa_activity_log WHERE session_id = ANY($1::uuid[])", made
        )
        await connection.execute("DELETE FROM ai_sessions WHERE id = ANY($1::uuid[])", made)
        await connection.close()
    summary: dict[str, Any] = {
        key: {
            "n": len(values),
            "p50_ms": percentile(values, 50) * 1000,
            "p95_ms": percentile(values, 95) * 1000,
            "mean_ms": sum(values) / len(values) * 1000,
        }
        for key, values in results.items()
    }
    summary["added_mean_ms"] = summary["with"]["mean_ms"] - summary["without"]["mean_ms"]
    return summary


def main(database_url: str, rounds: int, writes: int) -> int:
    result = asyncio.run(write_cost(database_url, rounds, writes))
    for key in ("with", "without"):
        row = result[key]
        print(
            f"{key:>7} data-version triggers: n={row['n']} p50 {row['p50_ms']:.2f} ms, "
            f"p95 {row['p95_ms']:.2f} ms, mean {row['mean_ms']:.2f} ms per write transaction"
        )
    print(f"added by the triggers: {result['added_mean_ms']:.3f} ms per write (mean)")
    return 0
