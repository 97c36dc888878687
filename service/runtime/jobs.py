"""Background jobs of a running server: success-rate recalculation, outbox recovery and
finishing rollup builds.

All run as asyncio tasks started from the app's lifespan. The recalculation takes the
advisory lock with `pg_try_advisory_xact_lock`, so with several workers or replicas exactly
one recalculates at a time and the others skip that tick. Outbox recovery runs once at
start-up and then on a timer; completing a row is idempotent, so replicas may overlap.
Rollup builds started by a time-zone change are finished chunk by chunk; replicas that
meet on one account take turns per chunk (each chunk locks the account), so overlap
costs time, never exactness. A failing run is logged and retried at the next tick; it
never stops the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.chunk_sizing import ChunkSizing
from persistence.engine import create_sessionmaker
from persistence.rollups import SIZED, UNPACED, Pacing, finish_started_builds
from persistence.success_rates import recalculate_success_rates
from writes.psa_pushes import PsaPushService

logger = logging.getLogger(__name__)

OUTBOX_RECOVERY_INTERVAL_S = 60.0
ROLLUP_BUILD_INTERVAL_S = 5.0


async def _every(
    name: str, interval_s: float, job: Callable[[], Awaitable[object]], *, first_delay: float
) -> None:
    await asyncio.sleep(first_delay)
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("background job %s failed; retrying in %.0f s", name, interval_s)
        await asyncio.sleep(interval_s)


class BackgroundJobs:
    """The server's periodic tasks; `start()` in the lifespan, `stop()` on shutdown."""

    def __init__(
        self,
        engine: AsyncEngine,
        pushes: PsaPushService,
        *,
        recalc_interval_s: float,
        recovery_interval_s: float = OUTBOX_RECOVERY_INTERVAL_S,
        rollup_build_interval_s: float = ROLLUP_BUILD_INTERVAL_S,
        rollup_build_pacing: Pacing = UNPACED,
        rollup_build_chunks: ChunkSizing = SIZED,
    ) -> None:
        self.engine = engine
        self.pushes = pushes
        self.recalc_interval_s = recalc_interval_s
        self.recovery_interval_s = recovery_interval_s
        self.rollup_build_interval_s = rollup_build_interval_s
        self.rollup_build_pacing = rollup_build_pacing
        self.rollup_build_chunks = rollup_build_chunks
        self._tasks: list[asyncio.Task[None]] = []

    async def recalculate(self) -> None:
        await recalculate_success_rates(self.engine, wait=False)

    async def recover(self) -> None:
        await self.pushes.recover()

    async def finish_rollup_builds(self) -> None:
        await finish_started_builds(
            create_sessionmaker(self.engine), self.rollup_build_chunks, self.rollup_build_pacing
        )

    def start(self) -> None:
        self._schedule("recalc-success-rates", self.recalc_interval_s, self.recalculate)
        # The first recovery runs right away: that is the start-up recovery.
        self._schedule(
            "psa-outbox-recovery", self.recovery_interval_s, self.recover, first_delay=0.0
        )
        self._schedule(
            "finish-rollup-builds",
            self.rollup_build_interval_s,
            self.finish_rollup_builds,
            first_delay=0.0,
        )

    def _schedule(
        self,
        name: str,
        interval_s: float,
        job: Callable[[], Awaitable[None]],
        first_delay: float | None = None,
    ) -> None:
        """`job` every `interval_s` (0: off), first after `first_delay` (default: one interval)."""
        if interval_s > 0:
            delay = interval_s if first_delay is None else first_delay
            self._tasks.append(
                asyncio.create_task(_every(name, interval_s, job, first_delay=delay), name=name)
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
