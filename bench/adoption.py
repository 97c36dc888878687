"""`python -m bench adopt --scale L`: adopting a generated dataset as the product's database.

The scale's generated database is first made what the product has: the analytics
revisions are downgraded away (psa_activity_log goes with them, the product has none)
and the migration history is dropped. It is then adopted as `migrate` does it, in one
transaction, and its rollups are built one account per batch; the adoption transaction
and every batch are timed. Destroys the dataset's analytics: regenerate before `run`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import text

from bench.database import bench_database_url
from persistence.engine import create_engine
from persistence.operations.adoption import BASELINE, adopt
from persistence.operations.backfill import Batch, backfill
from persistence.operations.migrate import downgrade


@dataclass
class AdoptionReport:
    scale: str
    database: str
    accounts: int = 0
    seconds_adoption: float = 0.0
    seconds_backfill: float = 0.0
    largest_sessions: int = 0
    largest_seconds: float = 0.0
    load_average_start: list[float] = field(default_factory=list)
    load_average_end: list[float] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def adopt_dataset(
    scale: str, database_url: str | None = None, log: Callable[[str], None] = print
) -> AdoptionReport:
    url = bench_database_url(scale, database_url)
    report = AdoptionReport(scale, url.rsplit("/", 1)[-1])
    report.load_average_start = list(os.getloadavg())
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            await downgrade(connection, BASELINE)
            await connection.execute(text("DROP TABLE alembic_version"))
        log("the dataset is now a product database (baseline tables, no history)")

        started = time.perf_counter()
        async with engine.connect() as connection:
            await connection.run_sync(adopt, "head")
        report.seconds_adoption = time.perf_counter() - started
        log(f"adopted in {report.seconds_adoption:.1f} s")

        def on_batch(batch: Batch) -> None:
            report.batches.append(
                {"account": str(batch.account_id), "sessions": batch.sessions, "s": batch.seconds}
            )
            if batch.sessions >= 100_000 or batch.number % 50 == 0:
                log(batch.describe())

        started = time.perf_counter()
        report.accounts = await backfill(engine, on_batch)
        report.seconds_backfill = time.perf_counter() - started
    finally:
        await engine.dispose()
    report.load_average_end = list(os.getloadavg())
    largest = max(report.batches, key=lambda batch: batch["sessions"])
    report.largest_sessions, report.largest_seconds = largest["sessions"], largest["s"]
    return report
