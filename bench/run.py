"""`python -m bench run`: the floor, the API in process and over HTTP, side by side.

For every tab document in `queries/` and every period, on the largest and the median
account: the floor's SQL through asyncpg, `schema.execute` with a fresh context per
request, and the same document over HTTP to a uvicorn worker this run starts; the ratio
API/floor from the same run; statements per request; rows read (EXPLAIN ANALYZE of the
captured statements); whether the API's numbers equal the floor's. Then throughput of
the Coverage tab at 1, 8 and 32 clients, the server's peak RSS, and cost growth.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event

from bench import floor, report
from bench.compare import differences
from bench.database import bench_database_url, migrate
from bench.explain import rows_read
from bench.load import throughput
from bench.stats import summary_ms
from core.auth import Principal, issue_token
from core.settings import Settings
from persistence.engine import asyncpg_dsn, create_engine, create_sessionmaker
from queries import TAB_DOCUMENTS, tab_query
from resolvers.context import RequestContext
from schema.build import build_schema_for

BENCH_SECRET = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
PERIODS = ("LAST_7_DAYS", "LAST_30_DAYS", "LAST_90_DAYS")
CONCURRENCY = (1, 8, 32)
GROWTH_SIZES = (10_000, 100_000, 1_000_000)


@dataclass
class RunOptions:
    scale: str
    database_url: str
    command: str
    tabs: tuple[str, ...] = tuple(TAB_DOCUMENTS)
    periods: tuple[str, ...] = PERIODS
    repetitions: int = 30
    budget: float = 8.0
    skip_http: bool = False
    skip_growth: bool = False
    load_seconds: float = 5.0
    output: Path | None = None
    docs: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace, command: str) -> RunOptions:
        return cls(
            scale=args.scale,
            database_url=bench_database_url(args.scale, args.database_url),
            command=command,
            tabs=tuple(args.tabs.split(",")) if args.tabs else tuple(TAB_DOCUMENTS),
            periods=tuple(args.periods.split(",")) if args.periods else PERIODS,
            repetitions=args.repetitions,
            budget=args.budget,
            skip_http=args.skip_http,
            skip_growth=args.skip_growth,
            load_seconds=args.load_seconds,
            output=Path(args.output) if args.output else None,
            docs=args.docs,
        )


async def repeat(call: Callable[[], Awaitable[float]], options: RunOptions) -> list[float]:
    """Up to `repetitions` timings, stopping after `budget` seconds once 5 are in."""
    await call()  # warm caches and prepared statements once, unmeasured
    timings: list[float] = []
    started = time.perf_counter()
    for _ in range(max(1, options.repetitions)):
        timings.append(await call())
        if len(timings) >= 5 and time.perf_counter() - started > options.budget:
            break
    return timings


class StatementLog:
    """Every statement the API's engine sends, with its parameters."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        self.statements.append((statement, parameters))


@dataclass
class Account:
    id: uuid.UUID
    sessions: int


async def accounts_by_size(connection: asyncpg.Connection) -> list[Account]:
    rows = await connection.fetch(
        "SELECT account_id, count(*) AS n FROM ai_sessions GROUP BY account_id ORDER BY n DESC"
    )
    return [Account(row["account_id"], row["n"]) for row in rows]


class InProcess:
    """schema.execute with a fresh RequestContext per request, as the HTTP view builds it."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.sessionmaker = create_sessionmaker(self.engine)
        # The served schema (limits, parse and validation caches) without the per-account
        # budget, which would refuse a benchmark's back-to-back requests.
        self.settings = Settings(
            database_url=url, jwt_secret=BENCH_SECRET, demo=False, rate_limit_cost_per_s=0
        )
        self.schema = build_schema_for(self.settings)
        self.log = StatementLog()
        event.listen(self.engine.sync_engine, "before_cursor_execute", self.log)
        gc.collect()  # as the served app does once it has started (service.app)
        gc.freeze()

    async def execute(
        self, account_id: uuid.UUID, tab: str, period: str, now: datetime | None = None
    ) -> tuple[dict[str, Any], float]:
        return (await self.execute_timed(account_id, tab, period, now))[:2]

    async def execute_timed(
        self, account_id: uuid.UUID, tab: str, period: str, now: datetime | None = None
    ) -> tuple[dict[str, Any], float, float]:
        """The data, the wall-clock seconds and this process's CPU seconds of one request."""
        context = RequestContext(
            settings=self.settings,
            sessionmaker=self.sessionmaker,
            read_sessionmaker=self.sessionmaker,
            principal=Principal(user_id=None, account_id=account_id, role="team_admin"),
        )
        if now is not None:
            context.now = now
        started, cpu_started = time.perf_counter(), time.process_time()
        result = await self.schema.execute(
            tab_query(tab), variable_values={"period": period}, context_value=context
        )
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if result.errors:
            raise RuntimeError(f"{tab} {period}: {result.errors}")
        assert result.data is not None
        return result.data, elapsed, cpu

    async def dispose(self) -> None:
        await self.engine.dispose()


class Server:
    """uvicorn with one worker on a free loopback port, configured from the environment;
    the code of `checkout` (another checkout's, to measure it with this harness) or this one."""

    def __init__(self, url: str, checkout: Path | None = None) -> None:
        # The server's own log (errors under load, say) goes to a file, not the report.
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            "w", prefix="bench-uvicorn-", suffix=".log", delete=False
        )
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "AUTH_JWT_SECRET": BENCH_SECRET,
            "FLOWPILOT_DEMO": "0",
            "GRAPHIQL_ENABLED": "0",
            "INTROSPECTION_ENABLED": "0",
            # The per-account cost budget would refuse a load test on one account; the
            # benchmark measures the server's capacity, so it is switched off here.
            "RATE_LIMIT_COST_PER_S": "0",
            # Every request is executed: repeating one document would otherwise measure
            # the response cache's hits (`bench day` measures the cache).
            "ANALYTICS_CACHE": "0",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "service.app:app_from_env", "--factory",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
             "--no-access-log"],
            env=env, cwd=checkout or report.ROOT, stdout=subprocess.DEVNULL, stderr=self.log,
        )  # fmt: skip
        self.base_url = f"http://127.0.0.1:{self.port}"

    async def ready(self) -> None:
        await wait_until_healthy(self.process, self.base_url)

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


async def wait_until_healthy(
    process: subprocess.Popen[Any], base_url: str, *, settle_s: float = 0.0
) -> None:
    """Until the server at `base_url` answers /healthz (at most 60 s), then `settle_s` more
    (with several workers, one answering does not mean all are up)."""
    deadline = time.perf_counter() + 60
    async with httpx.AsyncClient(base_url=base_url) as http:
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise RuntimeError("uvicorn exited")
            try:
                if (await http.get("/healthz")).status_code == 200:
                    await asyncio.sleep(settle_s)
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("uvicorn did not start")


def token(account_id: uuid.UUID) -> str:
    settings = Settings(jwt_secret=BENCH_SECRET)
    return issue_token(settings, account_id=account_id, role="team_admin")


async def http_timings(
    server: Server, account_id: uuid.UUID, tab: str, period: str, options: RunOptions
) -> list[float]:
    body = {"query": tab_query(tab), "variables": {"period": period}}
    headers = {"Authorization": f"Bearer {token(account_id)}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=60) as http:

        async def call() -> float:
            started = time.perf_counter()
            response = await http.post("/graphql", json=body)
            elapsed = time.perf_counter() - started
            payload = response.json()
            if response.status_code != 200 or "errors" in payload:
                raise RuntimeError(f"HTTP {tab} {period}: {response.status_code} {payload}")
            return elapsed

        return await repeat(call, options)


async def sessions_in_period(
    connection: asyncpg.Connection, account_id: uuid.UUID, period: str, now: datetime
) -> int:
    timezone = await connection.fetchval(floor.TIMEZONE, account_id)
    _days, start, end = floor.window(timezone, floor.PERIOD_DAYS[period], now)
    count: int = await connection.fetchval(
        f"SELECT count(*) FROM ai_sessions WHERE {floor.IN_WINDOW}", account_id, start, end
    )
    return count


async def measure_case(
    connection: asyncpg.Connection,
    api: InProcess,
    server: Server | None,
    account: Account,
    role: str,
    tab: str,
    period: str,
    options: RunOptions,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    floor_data, _ = await floor.run_floor(connection, tab, account.id, period, now)
    api.log.statements.clear()
    api_data, _ = await api.execute(account.id, tab, period, now)
    statements = list(api.log.statements)
    diffs = differences(api_data, floor_data)

    async def floor_call() -> float:
        return (await floor.run_floor(connection, tab, account.id, period, datetime.now(UTC)))[1]

    cpu_times: list[float] = []

    async def api_call() -> float:
        _data, elapsed, cpu = await api.execute_timed(account.id, tab, period)
        cpu_times.append(cpu)
        return elapsed

    floor_times = await repeat(floor_call, options)
    api_times = await repeat(api_call, options)
    case: dict[str, Any] = {
        "account_role": role,
        "account_id": str(account.id),
        "account_sessions": account.sessions,
        "tab": tab,
        "period": period,
        "sessions_in_period": await sessions_in_period(connection, account.id, period, now),
        "floor": summary_ms(floor_times),
        "in_process": summary_ms(api_times),
        # CPU of this process only (Strawberry, SQLAlchemy, asyncpg decoding), whatever the load.
        "in_process_cpu": summary_ms(cpu_times),
        "statements": len(statements),
        "equal": not diffs,
        "differences": diffs[:10],
    }
    case["ratio"] = case["in_process"]["p50"] / case["floor"]["p50"]
    case["rows_read"], case["buffers"] = await rows_read(connection, statements)
    if server is not None:
        case["http"] = summary_ms(await http_timings(server, account.id, tab, period, options))
    return case


def page_rows(data: Any) -> int:
    """How many list items a response holds (domains, flow previews, ranked flows): what a
    tab's page costs to build grows with these, whatever the account's size."""
    if isinstance(data, list):
        return len(data) + sum(page_rows(item) for item in data)
    if isinstance(data, dict):
        return sum(page_rows(value) for value in data.values())
    return 0


async def flow_count(connection: asyncpg.Connection, account_id: uuid.UUID) -> int:
    """The account's non-archived flows (the rows Flow Quality ranks)."""
    count: int = await connection.fetchval(
        "SELECT count(*) FROM trees WHERE account_id = $1 AND status <> 'archived'", account_id
    )
    return count


async def growth(
    connection: asyncpg.Connection, api: InProcess, accounts: list[Account], options: RunOptions
) -> list[dict[str, Any]]:
    """90-day Coverage and Flow Quality p95 for the accounts nearest 10k, 100k and 1M."""
    chosen: list[Account] = []
    for size in GROWTH_SIZES:
        nearest = min(accounts, key=lambda a: abs(a.sessions - size))
        if nearest not in chosen:
            chosen.append(nearest)
    out = []
    for account in chosen:
        for tab in ("coverage", "flow-quality"):

            pages: list[Any] = []  # the responses, to count the page's rows

            async def api_call(
                account: Account = account, tab: str = tab, pages: list[Any] = pages
            ) -> float:
                data, elapsed = await api.execute(account.id, tab, "LAST_90_DAYS")
                pages.append(data)
                return elapsed

            async def floor_call(account: Account = account, tab: str = tab) -> float:
                now = datetime.now(UTC)
                return (await floor.run_floor(connection, tab, account.id, "LAST_90_DAYS", now))[1]

            api_p95 = summary_ms(await repeat(api_call, options))["p95"]
            out.append(
                {
                    "account_sessions": account.sessions,
                    "sessions_in_period": await sessions_in_period(
                        connection, account.id, "LAST_90_DAYS", datetime.now(UTC)
                    ),
                    "account_flows": await flow_count(connection, account.id),
                    "page_rows": page_rows(pages[-1]),
                    "tab": tab,
                    "api_p95": api_p95,
                    "floor_p95": summary_ms(await repeat(floor_call, options))["p95"],
                }
            )
    return out


async def run(options: RunOptions, log: Callable[[str], None] = print) -> dict[str, Any]:
    # The code under test may have added migrations since the dataset was generated.
    await migrate(options.database_url)
    connection = await asyncpg.connect(asyncpg_dsn(options.database_url))
    api = InProcess(options.database_url)
    server: Server | None = None
    try:
        version = await connection.fetchval("SHOW server_version")
        results: dict[str, Any] = {
            "scale": options.scale,
            "commit": report.commit(),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": options.command,
            "machine": report.machine(version),
            "http_response_cache": False,
            "cases": [],
        }
        accounts = await accounts_by_size(connection)
        chosen = [("largest", accounts[0]), ("median", accounts[len(accounts) // 2])]
        if not options.skip_http:
            server = Server(options.database_url)
            await server.ready()
        for tab in options.tabs:
            for period in options.periods:
                for role, account in chosen:
                    try:
                        case = await measure_case(
                            connection, api, server, account, role, tab, period, options
                        )
                    except RuntimeError as error:  # the tab's document fails against this code
                        log(f"{role:8} {tab:13} {period:13} FAILED: {str(error)[:300]}")
                        results["failures"] = [*results.get("failures", []), str(error)[:500]]
                        continue
                    log(
                        f"{role:8} {tab:13} {period:13} floor p50 {case['floor']['p50']:8.1f} "
                        f"api p50 {case['in_process']['p50']:8.1f} ratio {case['ratio']:5.2f} "
                        f"http p95 {case.get('http', {}).get('p95', float('nan')):8.1f} "
                        f"statements {case['statements']} equal {case['equal']}"
                    )
                    results["cases"].append(case)
        if server is not None:
            largest = accounts[0]
            body = {"query": tab_query("coverage"), "variables": {"period": "LAST_30_DAYS"}}
            results["throughput_case"] = (
                "Coverage tab, LAST_30_DAYS, largest account, per-account rate limit off"
            )
            results["throughput"] = []
            for clients in CONCURRENCY:
                measured = await throughput(
                    server.base_url, token(largest.id), body, clients, options.load_seconds
                )
                log(f"throughput {clients:2} clients: {json.dumps(measured)}")
                measured["server_log"] = server.log.name
                results["throughput"].append(measured)
            results["server_peak_rss_mb"] = server.peak_rss_mb()
        results["load_average_at_end"] = list(os.getloadavg())
        if not options.skip_growth:
            results["growth"] = await growth(connection, api, accounts, options)
            for row in results["growth"]:
                log(f"growth {json.dumps(row)}")
    finally:
        if server is not None:
            server.stop()
        await api.dispose()
        await connection.close()
    path = report.save_results(results, options.output)
    if options.output is None or options.docs:
        report.write_docs(options.docs)
    log(f"results: {path}")
    return results
