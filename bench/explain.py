"""Rows read by a request: EXPLAIN (ANALYZE, BUFFERS) of the statements it sent."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

_SCANS = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Tid Scan")


def _walk(node: dict[str, Any]) -> tuple[int, int]:
    rows = buffers = 0
    if node.get("Node Type") in _SCANS:
        loops = node.get("Actual Loops", 1)
        rows += (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * loops
        rows += node.get("Rows Removed by Index Recheck", 0)
    for child in node.get("Plans", []):
        child_rows, _ = _walk(child)
        rows += child_rows
    buffers = node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0)
    return rows, buffers


async def rows_read(
    connection: asyncpg.Connection, statements: list[tuple[str, Any]]
) -> tuple[int, int]:
    """Rows scanned and shared buffers touched, summed over the statements that read tables."""
    rows = buffers = 0
    for statement, parameters in statements:
        if "FROM" not in statement.upper():
            continue
        params = list(parameters) if isinstance(parameters, list | tuple) else []
        plan = await connection.fetchval(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, *params
        )
        top = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
        statement_rows, statement_buffers = _walk(top)
        rows += statement_rows
        buffers += statement_buffers
    return rows, buffers
