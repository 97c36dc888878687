"""CPU seconds of processes from /proc: the server's (master and workers) and the
PostgreSQL backends serving one database, so a run can report CPU per request of each."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (0 once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def tree_cpu_seconds(pid: int) -> float:
    """A process and its direct children (uvicorn's master and its workers)."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    return sum(cpu_seconds(p) for p in pids)


class BackendCpu:
    """CPU of a database's backends between two readings (the monitoring one's excluded).

    A backend that exits between the readings loses its CPU since the first; the API's
    pooled connections and the writer's stay open for a run, so little is lost."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.before: dict[int, float] = {}

    async def _backends(self) -> dict[int, float]:
        pids = await self.connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return {row["pid"]: cpu_seconds(row["pid"]) for row in pids}

    async def start(self) -> None:
        self.before = await self._backends()

    async def seconds(self) -> float:
        now = await self._backends()
        return sum(cpu - self.before.get(pid, 0.0) for pid, cpu in now.items())
