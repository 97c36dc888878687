"""`python -m bench day`: a realistic day of dashboard traffic, with and without the cache.

Team leads open the four tabs of their account with period switches, custom ranges and
comparisons, think between clicks (and before the first, so they start staggered), and
leave a tab polling; more of them on larger accounts (bench/day_mix.py). Each has a
client of its own on the run's one TLS context, or wrk sends the clicks (`--generator
wrk`, bench/day_wrk.py) at rates a Python client cannot offer without becoming the
bottleneck. Only requests sent after the
warm-up count; the report gives the offered rate, the client's own event-loop lag and
CPU, and beside the client's latencies the server's, from its request log. Writers
insert sessions, resolve them and push PSA activity at each account's own rate
(proportional to its size). The same load runs against one server per configuration
(cache off, in-process cache, Redis) with 1 and 2 uvicorn workers, side by side in one
run, so the ratios hold on a shared machine even when absolute times do not. Then the
hit path alone: the Coverage tab repeated (every request a hit) at 1 client (latency)
and 32 clients (throughput).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import day_wrk, report
from bench.database import BenchError, bench_database_url
from bench.day_mix import TABS, Person, clicks, people
from bench.loop_lag import LoopLag
from bench.process_cpu import BackendCpu, tree_cpu_seconds
from bench.run import wait_until_healthy
from bench.server_log import request_lines, server_figures
from bench.stats import percentile
from bench.wrk import hit_load, wrk_path
from core.auth import issue_token
from core.settings import Settings
from persistence.engine import asyncpg_dsn
from queries import tab_query

SECRET = "bench-day-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
# The day's servers keep an idle connection open longer than a person thinks (a proxy in
# front would); clients drop theirs a little earlier, so none reuses a closing one.
KEEPALIVE_SERVER_S = 75
KEEPALIVE_EXPIRY_S = 70.0

MODES = ("off", "memory", "redis")


@dataclass
class Tenant:
    id: uuid.UUID
    sessions: int
    domains: list[str]
    flows: list[uuid.UUID]
    open_sessions: list[uuid.UUID] = field(default_factory=list)
    linked: list[uuid.UUID] = field(default_factory=list)


async def tenants(url: str) -> list[Tenant]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await connection.fetch(
            "SELECT account_id, count(*) AS n FROM ai_sessions GROUP BY 1 ORDER BY n DESC"
        )
        out = []
        for row in rows:
            domains = await connection.fetch(
                "SELECT DISTINCT problem_domain FROM ai_sessions WHERE account_id = $1 "
                "AND problem_domain IS NOT NULL LIMIT 20",
                row["account_id"],
            )
            flows = await connection.fetch(
                "SELECT id FROM trees WHERE account_id = $1 LIMIT 50", row["account_id"]
            )
            out.append(
                Tenant(
                    row["account_id"],
                    row["n"],
                    [d["problem_domain"] for d in domains] or ["Email"],
                    [f["id"] for f in flows],
                )
            )
        return out
    finally:
        await connection.close()


def token(account_id: uuid.UUID) -> str:
    return issue_token(Settings(jwt_secret=SECRET), account_id=account_id, role="team_admin")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class DayServer:
    """uvicorn with `workers` workers and the cache `mode`; request log lines to a file.

    `checkout`: the source tree to serve (another checkout for a side-by-side baseline);
    `uvicorn_args`: more command-line options for uvicorn (`--loop asyncio`, say).
    """

    def __init__(
        self,
        url: str,
        mode: str,
        workers: int,
        redis_url: str,
        checkout: Path = report.ROOT,
        uvicorn_args: Sequence[str] = (),
    ) -> None:
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            "w+", prefix=f"bench-day-{mode}-{workers}-", suffix=".log", delete=False
        )
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "AUTH_JWT_SECRET": SECRET,
            "FLOWPILOT_DEMO": "0",
            "GRAPHIQL_ENABLED": "0",
            "INTROSPECTION_ENABLED": "0",
            "RATE_LIMIT_COST_PER_S": "0",
            "SUCCESS_RATE_RECALC_INTERVAL_S": "0",
            "ANALYTICS_CACHE": "0" if mode == "off" else "1",
            "PYTHONPATH": str(checkout),
        }
        env.pop("REDIS_URL", None)
        if mode == "redis":
            env["REDIS_URL"] = redis_url
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "service.app:app_from_env", "--factory",
             "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
             "--log-level", "warning", "--no-access-log",
             "--timeout-keep-alive", str(KEEPALIVE_SERVER_S), *uvicorn_args],
            env=env, cwd=checkout, stdout=self.log, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.base_url = f"http://127.0.0.1:{self.port}"

    async def ready(self) -> None:
        await wait_until_healthy(self.process, self.base_url, settle_s=1.0)

    def cpu_seconds(self) -> float:
        """User + system CPU of the server's processes (the master and its workers)."""
        return tree_cpu_seconds(self.process.pid)

    def request_lines(self) -> list[dict[str, Any]]:
        """The request log lines written so far."""
        self.log.flush()
        return request_lines(Path(self.log.name).read_text().splitlines())

    def cache_outcomes(self) -> Counter[str]:
        """Cache outcomes of the request log lines written so far."""
        outcomes: Counter[str] = Counter()
        for line in self.request_lines():
            if line.get("cache"):
                outcomes[line["cache"].split(":")[0]] += 1
        return outcomes

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


@dataclass
class Tally:
    """What the Python client saw: latencies of the requests it sent inside the measured
    window (by tab), how many it sent there (the offered load), and every error."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {t: [] for t in TABS})
    sent_in_window: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    writes: Counter[str] = field(default_factory=Counter)


async def viewer(
    http: httpx.AsyncClient,
    person: Person,
    authorization: str,
    think_s: float,
    window: tuple[float, float],
    tally: Tally,
) -> None:
    """One team lead: thinks, clicks, thinks again, until the window ends; the first
    think comes before the first click, so people start staggered."""
    measure_from, stop_at = window
    headers = {"Authorization": authorization}
    for click in clicks(person, think_s, date.today()):
        # A think that would end after the window ends the person's day there.
        if time.perf_counter() + click.think_s >= stop_at:
            return
        await asyncio.sleep(click.think_s)
        sent = time.perf_counter()
        measured = sent >= measure_from
        body = {"query": tab_query(click.tab), "variables": click.variables}
        try:
            response = await http.post("/graphql", json=body, headers=headers)
            ok = response.status_code == 200 and "errors" not in response.json()
            problem = "" if ok else f"{response.status_code}"
        except httpx.HTTPError as error:
            problem = type(error).__name__
        done = time.perf_counter()
        if problem:
            tally.errors[problem] += 1
        elif measured:
            tally.latencies[click.tab].append(done - sent)
        if measured:
            tally.sent_in_window += 1


async def writer(
    url: str,
    tenants_: list[Tenant],
    rate_per_s: float,
    rng: random.Random,
    stop_at: float,
    tally: Tally,
) -> None:
    """Sessions inserted, resolved and pushed to the PSA, each account at its own rate."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    weights = [t.sessions for t in tenants_]
    try:
        while time.perf_counter() < stop_at:
            tenant = rng.choices(tenants_, weights=weights)[0]
            async with connection.transaction():
                await connection.execute(
                    "SELECT set_config('app.current_account_id', $1, true)", str(tenant.id)
                )
                roll = rng.random()
                if roll < 0.5 or not tenant.open_sessions:
                    session_id = uuid.uuid4()
                    ticket = str(rng.randint(10_000, 99_999)) if rng.random() < 0.6 else None
                    await connection.execute(
                        "INSERT INTO ai_sessions (id, account_id, problem_domain, status, "
                        "confidence_tier, matched_flow_id, match_confidence, started_at, "
                        "psa_ticket_id) VALUES ($1, $2, $3, 'active', $4, $5, $6, now(), $7)",
                        session_id, tenant.id, rng.choice(tenant.domains),
                        rng.choice(["guided", "exploring", "discovery"]),
                        rng.choice([None, *tenant.flows]), round(rng.random(), 2), ticket,
                    )  # fmt: skip
                    tenant.open_sessions.append(session_id)
                    if ticket:
                        tenant.linked.append(session_id)
                    tally.writes["session insert"] += 1
                elif roll < 0.85:
                    session_id = tenant.open_sessions.pop(0)
                    await connection.execute(
                        "UPDATE ai_sessions SET status = $2, resolved_at = now(), rating = $3 "
                        "WHERE id = $1",
                        session_id, rng.choice(["resolved", "resolved", "escalated"]),
                        rng.choice([None, 4, 5]),
                    )  # fmt: skip
                    tally.writes["session resolve"] += 1
                elif tenant.linked:
                    session_id = rng.choice(tenant.linked)
                    kind = rng.choice(["time_entry_posted", "note_posted", "status_updated"])
                    await connection.execute(
                        "INSERT INTO psa_activity_log (id, account_id, session_id, "
                        "activity_type, hours_logged, psa_ticket_id, external_id) "
                        "VALUES ($1, $2, $3, $4, $5, '1', $6)",
                        uuid.uuid4(), tenant.id, session_id, kind,
                        0.5 if kind == "time_entry_posted" else None, uuid.uuid4().hex,
                    )  # fmt: skip
                    tally.writes["psa activity"] += 1
            await asyncio.sleep(rng.expovariate(rate_per_s))
    finally:
        await connection.close()


GENERATORS = ("python", "wrk")


@dataclass
class Load:
    """What one day offers: how many people, their think time, the measured window after
    a warm-up, the writers' rate, the seed, and which generator sends the clicks."""

    viewers: int
    seconds: float
    warmup_s: float
    think_s: float
    writes_per_s: float
    seed: int
    poll_share: float = 0.25
    generator: str = "python"


def person_client(base_url: str, tls: ssl.SSLContext) -> httpx.AsyncClient:
    """A person's own client (one connection) on the run's one TLS context.

    Building a client loads a CA bundle for its TLS context unless it is handed one
    (~22 ms of CPU each, for 500 people a stall of seconds), so all share `tls`. One
    client for everyone is worse: on every request and response its pool checks each
    connection (a poll of each idle one's socket, and a count of all connections for
    each idle one): 42 ms of client CPU per request with 500 people at L.
    uvicorn closes a connection idle for its keep-alive timeout; a client that reuses one
    at that instant gets a ReadError, so idle connections are kept for less time than
    the server keeps them (DayServer gives it KEEPALIVE_SERVER_S), as a proxy would."""
    limits = httpx.Limits(
        max_connections=1, max_keepalive_connections=1, keepalive_expiry=KEEPALIVE_EXPIRY_S
    )
    return httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits, verify=tls)


async def _python_clicks(
    server: DayServer, persons: list[Person], load: Load, window: tuple[float, float], tally: Tally
) -> dict[str, Any]:
    """The people in this process, a client each on one TLS context; its CPU per request."""
    tokens = {p.account_id: f"Bearer {token(p.account_id)}" for p in persons}
    tls = ssl.create_default_context()
    cpu_before = time.process_time()

    async def person(p: Person) -> None:
        async with person_client(server.base_url, tls) as http:
            await viewer(http, p, tokens[p.account_id], load.think_s, window, tally)

    await asyncio.gather(*(person(p) for p in persons))
    cpu = time.process_time() - cpu_before
    everything = [x for values in tally.latencies.values() for x in values]
    sent = max(1, tally.sent_in_window)
    return {
        "client": "python (httpx, one TLS context)",
        "requests": len(everything),
        "p50_ms": percentile(everything, 50) * 1000 if everything else None,
        "p95_ms": percentile(everything, 95) * 1000 if everything else None,
        "tabs": {
            tab: {
                "n": len(values),
                "p50_ms": percentile(values, 50) * 1000 if values else None,
                "p95_ms": percentile(values, 95) * 1000 if values else None,
            }
            for tab, values in tally.latencies.items()
        },
        # The whole run's CPU (warm-up and writer included) over the requests it sent.
        "cpu_ms_per_request": cpu / sent * 1000,
    }


async def _wrk_clicks(server: DayServer, persons: list[Person], load: Load) -> dict[str, Any]:
    """The people as wrk connections; wrk's percentiles include the warm-up."""
    wrk = wrk_path()
    if wrk is None:
        raise BenchError("the wrk generator needs `wrk` on PATH (Debian: apt-get install wrk)")
    tokens = {p.account_id: token(p.account_id) for p in persons}
    total_s = load.warmup_s + load.seconds
    lua = day_wrk.script(persons, tokens, load.think_s, total_s * 1.5, load.seed, date.today())
    summary = await asyncio.to_thread(day_wrk.run, wrk, server.base_url, lua, len(persons), total_s)
    completed = summary["completed"]
    return {
        "client": "wrk (Lua, one connection per person)",
        "requests": completed,
        "p50_ms": summary["p50_us"] / 1000,
        "p95_ms": summary["p95_us"] / 1000,
        "errors": summary["failures"] + summary["socket_errors"],
        "cpu_ms_per_request": summary["cpu_s"] / completed * 1000 if completed else None,
    }


async def day(url: str, server: DayServer, tenants_: list[Tenant], load: Load) -> dict[str, Any]:
    """One day against `server`: the client's and the server's figures of the window."""
    persons = people(
        [(t.id, t.sessions) for t in tenants_], load.viewers, load.poll_share, load.seed
    )
    tally = Tally()
    lag = LoopLag()
    lag.start()
    start = time.perf_counter()
    measure_from = start + load.warmup_s
    stop_at = measure_from + load.seconds
    wall_from = time.time() + load.warmup_s
    monitor = await asyncpg.connect(asyncpg_dsn(url))
    backends = BackendCpu(monitor)
    marks: dict[str, Any] = {}

    async def mark() -> None:
        await asyncio.sleep(load.warmup_s)
        marks["cpu"] = server.cpu_seconds()
        marks["client_cpu"] = time.process_time()
        await backends.start()
        await asyncio.sleep(load.seconds)
        marks["server_cpu_s"] = server.cpu_seconds() - marks["cpu"]
        marks["client_cpu_s"] = time.process_time() - marks["client_cpu"]
        marks["database_cpu_s"] = await backends.seconds()

    writer_rng = random.Random(load.seed + 1)
    clicking = (
        _python_clicks(server, persons, load, (measure_from, stop_at), tally)
        if load.generator == "python"
        else _wrk_clicks(server, persons, load)
    )
    try:
        _, _, client = await asyncio.gather(
            mark(),
            writer(url, tenants_, load.writes_per_s, writer_rng, stop_at, tally),
            clicking,
        )
    finally:
        await lag.stop()
        await monitor.close()
    server_side = server_figures(server.request_lines(), wall_from, wall_from + load.seconds)
    served = server_side["requests"] or 1
    offered = tally.sent_in_window if load.generator == "python" else server_side["requests"]
    outcomes = Counter(server_side["cache_outcomes"])
    looked_up = outcomes["hit"] + outcomes["not_modified"] + outcomes["miss"]
    return {
        "generator": load.generator,
        "viewers": len(persons),
        "pollers": sum(p.poller for p in persons),
        "think_s": load.think_s,
        # Requests sent inside the window per second (the Python client counts what it
        # sent; for wrk, what the server finished there).
        "offered_rps": offered / load.seconds,
        "rps": server_side["requests"] / load.seconds,
        "errors": sum(tally.errors.values()) + client.get("errors", 0),
        "error_kinds": dict(tally.errors),
        "writes": dict(tally.writes),
        "writes_per_s": sum(tally.writes.values()) / (load.seconds + load.warmup_s),
        "client": client,
        "client_loop_lag": lag.summary(measure_from, stop_at),
        "server": server_side,
        "p50_ms": server_side["p50_ms"],
        "p95_ms": server_side["p95_ms"],
        "tabs": server_side["tabs"],
        "hit_ratio": (outcomes["hit"] / looked_up) if looked_up else None,
        "cache_outcomes": dict(outcomes),
        "cpu_ms_per_request": marks["server_cpu_s"] / served * 1000,
        "database_cpu_ms_per_request": marks["database_cpu_s"] / served * 1000,
    }


async def hit_path(
    server: DayServer, tenant: Tenant, seconds: float, query: str | None = None
) -> dict[str, Any]:
    """The Coverage tab repeated: with the cache on, every request after the first hits.

    `query` is the document the server's own checkout ships (a baseline may not know this
    checkout's newer fields). The load comes from `wrk` when it is installed (bench.wrk),
    else the Python client; the server's CPU per request is measured over the 32-client run."""
    body = {"query": query or tab_query("coverage"), "variables": {"period": "LAST_30_DAYS"}}
    one = await hit_load(server.base_url, token(tenant.id), body, 1, seconds)
    cpu_before = server.cpu_seconds()
    many = await hit_load(server.base_url, token(tenant.id), body, 32, seconds)
    cpu = server.cpu_seconds() - cpu_before
    many["cpu_ms_per_request"] = cpu / many["requests"] * 1000 if many["requests"] else None
    return {"client": many["client"], "one_client": one, "clients_32": many}


async def hit_path_versus(options: DayOptions, tenant: Tenant, log: Any) -> list[dict[str, Any]]:
    """The hit path of the baseline checkout and of this one, in alternating rounds, with
    the in-process cache: the same load, one server at a time, in one run."""
    assert options.baseline is not None
    sides = {
        "baseline": (options.baseline, tuple(options.baseline_uvicorn_args.split())),
        "current": (report.ROOT, ()),
    }
    runs: list[dict[str, Any]] = []
    for workers in options.workers:
        for round_ in range(options.versus_rounds):
            for side, (checkout, uvicorn_args) in sides.items():
                server = DayServer(
                    options.database_url, "memory", workers, options.redis_url,
                    checkout, uvicorn_args,
                )  # fmt: skip
                try:
                    await server.ready()
                    own_query = (Path(checkout) / "queries" / "coverage.graphql").read_text()
                    figures = await hit_path(server, tenant, options.hit_seconds, own_query)
                    outcomes = server.cache_outcomes()
                finally:
                    server.stop()
                run = {"side": side, "workers": workers, "round": round_ + 1, **figures}
                run["cache_outcomes"] = dict(outcomes)
                runs.append(run)
                log(versus_row(run))
    return runs


@dataclass
class DayOptions:
    database_url: str
    command: str
    modes: tuple[str, ...] = MODES
    workers: tuple[int, ...] = (1, 2)
    viewers: int = 40
    seconds: float = 30.0
    warmup_s: float = 5.0
    think_s: float = 1.0
    writes_per_s: float = 10.0
    hit_seconds: float = 5.0
    poll_share: float = 0.25
    redis_url: str = "redis://127.0.0.1:6379/0"
    seed: int = 1
    output: Path | None = None
    skip_day: bool = False
    baseline: Path | None = None
    baseline_uvicorn_args: str = ""
    versus_rounds: int = 2
    generator: str = "python"

    def load(self) -> Load:
        return Load(
            viewers=self.viewers,
            seconds=self.seconds,
            warmup_s=self.warmup_s,
            think_s=self.think_s,
            writes_per_s=self.writes_per_s,
            seed=self.seed,
            poll_share=self.poll_share,
            generator=self.generator,
        )


async def run_day(options: DayOptions, log: Any = print) -> dict[str, Any]:
    tenants_ = await tenants(options.database_url)
    results: dict[str, Any] = {
        "command": options.command,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "accounts": len(tenants_),
        "account_sessions": [t.sessions for t in tenants_],
        "runs": [],
    }
    if options.baseline is not None:
        log(f"hit path: baseline {options.baseline} against this checkout ...")
        results["hit_path_versus"] = await hit_path_versus(options, tenants_[0], log)
    for workers in () if options.skip_day else options.workers:
        for mode in options.modes:
            server = DayServer(options.database_url, mode, workers, options.redis_url)
            try:
                await server.ready()
                log(f"day: cache {mode}, {workers} worker(s) ...")
                figures = await day(options.database_url, server, tenants_, options.load())
                figures["hit_path"] = await hit_path(server, tenants_[0], options.hit_seconds)
            finally:
                server.stop()
            results["runs"].append({"mode": mode, "workers": workers, **figures})
            log(table_row(results["runs"][-1]))
    output = options.output or report.RESULTS_DIR / "day.json"
    output.write_text(json.dumps(results, indent=2) + "\n")
    if results["runs"]:
        log(table(results))
    if "hit_path_versus" in results:
        log(versus_table(results["hit_path_versus"]))
    return results


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def table_row(run: dict[str, Any]) -> str:
    tabs = " | ".join(
        f"{_ms(run['tabs'][t]['p50_ms'])} / {_ms(run['tabs'][t]['p95_ms'])}" for t in TABS
    )
    hit = run["hit_path"]
    ratio = "–" if run["hit_ratio"] is None else f"{run['hit_ratio']:.0%}"
    client = run["client"]
    return (
        f"| {run['mode']} | {run['workers']} | {tabs} | {_ms(run['p95_ms'])} | "
        f"{_ms(client['p95_ms'])} | {_ms(run['client_loop_lag']['max_ms'])} | "
        f"{run['offered_rps']:.0f} | {ratio} | {_ms(run['cpu_ms_per_request'])} | "
        f"{_ms(run['database_cpu_ms_per_request'])} | {run['errors']} | "
        f"{_ms(hit['one_client']['p95_ms'])} | {hit['clients_32']['rps']:.0f} "
        f"({hit['clients_32']['errors']} errors) | {_ms(hit['clients_32']['cpu_ms_per_request'])} |"
    )


def table(results: dict[str, Any]) -> str:
    head = (
        "| cache | workers | overview p50 / p95 ms (server) | coverage | flow-quality | psa | "
        "all p95 ms (server) | all p95 ms (client) | client loop lag max ms | offered req/s | "
        "hit ratio | server CPU ms/req | PostgreSQL CPU ms/req | errors | "
        "repeat p95 ms (1 client) | repeat req/s (32 clients) | repeat CPU ms/req |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    return "\n".join([head, *(table_row(run) for run in results["runs"])])


def versus_row(run: dict[str, Any]) -> str:
    one, many = run["one_client"], run["clients_32"]
    return (
        f"| {run['side']} | {run['workers']} | {run['round']} | {_ms(one['p50_ms'])} / "
        f"{_ms(one['p95_ms'])} | {many['rps']:.0f} | {_ms(many['p95_ms'])} | "
        f"{many['cpu_ms_per_request']:.2f} | {many['client_cpu_ms_per_request']:.2f} | "
        f"{one['errors'] + many['errors']} | {run['client']} |"
    )


def versus_table(runs: list[dict[str, Any]]) -> str:
    head = (
        "| checkout | workers | round | 1 client p50 / p95 ms | 32 clients req/s | "
        "32 clients p95 ms | server CPU ms/hit | load generator CPU ms/req | errors | "
        "load generator |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    return "\n".join([head, *(versus_row(run) for run in runs)])


def main(args: Any, command: str) -> int:
    options = DayOptions(
        database_url=bench_database_url("S", args.database_url),
        command=command,
        modes=tuple(args.modes.split(",")),
        workers=tuple(int(w) for w in args.workers.split(",")),
        viewers=args.viewers,
        seconds=args.seconds,
        warmup_s=args.warmup,
        think_s=args.think,
        writes_per_s=args.writes_per_s,
        hit_seconds=args.hit_seconds,
        poll_share=args.poll_share,
        redis_url=args.redis_url,
        seed=args.seed,
        output=Path(args.output) if args.output else None,
        skip_day=args.skip_day,
        baseline=Path(args.baseline).resolve() if args.baseline else None,
        baseline_uvicorn_args=args.baseline_uvicorn_args,
        versus_rounds=args.versus_rounds,
        generator=args.generator,
    )
    asyncio.run(run_day(options))
    return 0
