"""Load and fault run: sustained load on the four tabs, a PostgreSQL outage, a noisy tenant.

`python -m bench.load_fault --seconds 60 --clients 32` starts its OWN PostgreSQL (initdb
and pg_ctl in a temporary folder, on a free loopback port; never any shared server),
migrates and seeds it, creates the API's unprivileged role, starts the real app under
uvicorn on 127.0.0.1 as that role, and then, while `clients` closed-loop clients ask
for the four tabs across many accounts:

1. baseline (first third): p95 of every request;
2. outage (middle third): PostgreSQL is stopped for 5 s and started again; requests in
   the outage must fail fast with DATABASE_UNAVAILABLE and every request sent after the
   restart must succeed, with the same uvicorn process (no worker restart);
3. noisy tenant (last third): one account sends a burst of the most expensive queries the
   limits allow; it must be refused with RATE_LIMITED, and the other accounts' p95 must
   stay within 2x of the baseline (a timing check). The same team admin also sends, from
   `ABUSIVE_CLIENTS` clients, thirty aliases of a 366-day overview compared with the
   previous period (21,960 trend points): every one must be refused, by cost
   (QUERY_TOO_COMPLEX) or by the account's budget (RATE_LIMITED, or TIMEOUT when queued
   behind its own requests), none served.

Throughout, a writer (a service token) records flow matches one after another. Afterwards
every match the API confirmed must be stored, and the flow's usage counter must equal the
sessions really matched to it: a write cut by the outage is refused or done, never half.

The report's `checks` are behaviour (which requests fail, with which codes, what is
stored), true on any machine; `timing_checks` compare durations (the 2x p95 ratio, fast
failures), which depend on the machine and its other work. It prints a JSON report and
exits non-zero when any check of either kind fails; the test suite asserts `checks` only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select

from core.auth import issue_token
from core.settings import Settings
from persistence.engine import create_engine, create_sessionmaker
from persistence.models import Account, AiSession, PsaActivityLog, Tree
from persistence.operations.migrate import upgrade_engine
from persistence.operations.roles import ensure_app_role
from persistence.tenancy import account_transaction
from queries import TAB_DOCUMENTS, tab_query
from service.runtime import embedded

SECRET = "load-fault-secret-0123456789-abcdefghijklmnop"
APP_ROLE = "flowpilot_app"
OUTAGE_S = 5.0
REQUEST_TIMEOUT_S = 5.0
NOISY_QUERY = (
    "{ flowQuality(period: LAST_90_DAYS) { flows(first: 300) { flow { id name } qualityScore"
    " successRate guidedRate usageCount avgConfidence recencyScore needsAttention } } }"
)
_TREND = "dailyTrend { date sessions resolved escalated mttrMinutes }"
_LAST_DAY = datetime.now(UTC).date() - timedelta(days=2)  # before every account's today
_YEAR = f'from: "{_LAST_DAY - timedelta(days=365)}", to: "{_LAST_DAY}"'
ABUSIVE_QUERY = "{ " + " ".join(
    f"a{i}: overview(range: {{{_YEAR}}}, compareTo: PREVIOUS_PERIOD) "
    f"{{ {_TREND} previous {{ {_TREND} }} }}"
    for i in range(30)
) + " }"  # fmt: skip
ABUSIVE_CLIENTS = 80
ABUSER = -1  # the samples' account label of the abusive clients
# Refused by cost or budget, or queued behind its own requests past the request timeout.
_BUDGET_REFUSALS = {"QUERY_TOO_COMPLEX", "RATE_LIMITED", "TIMEOUT"}
SERVER_OPTIONS = "-c max_connections=100 -c authentication_timeout=2s"
WRITES = 2000
WRITE_INTERVAL_S = 0.02
RECORD_MATCH = (
    "mutation($s: ID!, $f: ID!) { recordFlowMatch(input: {sessionId: $s, flowId: $f, "
    "confidence: 0.9}) { counted } }"
)
DOMAINS = ("Identity", "Network", "Email", "Printing", "Backup", "Security")
OUTAGE_CODES = frozenset({"DATABASE_UNAVAILABLE", "TIMEOUT"})
"""Coded answers a request in flight during the outage may get (any other failure fails)."""


@dataclass(frozen=True)
class Shape:
    """How the load is made. Defaults: closed-loop clients, the server's default budget.

    `client_rps` caps each tab client's sends per second (no catching up after a slow
    answer), which bounds what each account spends whatever the machine's speed;
    `burst_cost`/`cost_per_s` set the API's per-account budget (RATE_LIMIT_*), and
    `request_timeout_s` the API's REQUEST_TIMEOUT_S.
    """

    request_timeout_s: float = REQUEST_TIMEOUT_S
    client_rps: float | None = None
    noisy_clients: int | None = None
    burst_cost: int | None = None
    cost_per_s: int | None = None


class OwnPostgres:
    """A throwaway PostgreSQL cluster in a temp folder, run as the unprivileged user."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="fp-load-fault-"))
        self.data = self.root / "pgdata"
        self.bin = embedded._bin_dir()
        self.user = embedded._run_as()
        self.port = embedded._free_port()

    def _pg_ctl(self, *args: str) -> None:
        embedded._run(self.user, [str(self.bin / "pg_ctl"), "-D", str(self.data), *args])

    def init(self) -> None:
        embedded._give_to(self.user, self.root)
        self.data.mkdir(mode=0o700)
        embedded._give_to(self.user, self.data)
        embedded._run(
            self.user,
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust"],
        )
        self.start()

    def start(self) -> None:
        self._pg_ctl(
            "-w", "-t", "60", "-l", str(self.data / "log"),
            "-o", f"-h 127.0.0.1 -p {self.port} -k '' {SERVER_OPTIONS}",
            "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "stop")

    def url(self, user: str = "postgres", database: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"


@dataclass
class WriteTarget:
    """Unmatched sessions of one account that a writer matches to one flow under load."""

    account_id: uuid.UUID
    flow_id: uuid.UUID
    session_ids: list[uuid.UUID]


async def prepare(
    pg: OwnPostgres, accounts: int, sessions: int
) -> tuple[list[uuid.UUID], WriteTarget]:
    """Migrate, create the app role, and seed `accounts` accounts of realistic data, the
    first of them also holding unmatched sessions and a flow for the writer."""
    admin = create_engine(pg.url(), pool_size=1, max_overflow=0)
    async with admin.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        from sqlalchemy import text

        await connection.execute(text("CREATE DATABASE flowpilot"))
    await admin.dispose()
    owner = create_engine(pg.url(database="flowpilot"))
    await upgrade_engine(owner)
    async with owner.begin() as connection:
        await ensure_app_role(connection, APP_ROLE, None)
    sessionmaker = create_sessionmaker(owner)
    ids = [uuid.uuid4() for _ in range(accounts)]
    now = datetime.now(UTC)
    rng = random.Random(7)
    for number, account_id in enumerate(ids):
        async with account_transaction(sessionmaker, account_id) as session:
            await session.execute(
                insert(Account).values(id=account_id, name=f"Load MSP {number}", timezone="UTC")
            )
            flows = [
                {
                    "id": uuid.uuid4(), "account_id": account_id, "name": f"Flow {k}",
                    "category": DOMAINS[k % len(DOMAINS)], "status": "published",
                    "usage_count": 0, "last_matched_at": now - timedelta(days=k % 40),
                }
                for k in range(40)
            ]  # fmt: skip
            await session.execute(insert(Tree), flows)
            rows, pushes = [], []
            for _ in range(sessions):
                flow = rng.choice(flows)
                started = now - timedelta(minutes=rng.randint(10, 60 * 24 * 89))
                resolved = rng.random() < 0.6
                session_id = uuid.uuid4()
                rows.append(
                    {
                        "id": session_id, "account_id": account_id, "session_type": "flowpilot",
                        "problem_domain": flow["category"],
                        "status": "resolved" if resolved else rng.choice(("escalated", "active")),
                        "confidence_tier": rng.choice(("discovery", "exploring", "guided")),
                        "matched_flow_id": flow["id"], "match_confidence": rng.random(),
                        "started_at": started,
                        "resolved_at": started + timedelta(minutes=30) if resolved else None,
                        "rating": rng.randint(1, 5), "psa_ticket_id": str(rng.randint(1, 9999)),
                    }
                )  # fmt: skip
                if rng.random() < 0.4:
                    pushes.append(
                        {
                            "id": uuid.uuid4(), "account_id": account_id, "session_id": session_id,
                            "activity_type": "time_entry_posted", "hours_logged": 1.25,
                            "psa_ticket_id": rows[-1]["psa_ticket_id"],
                            "external_id": uuid.uuid4().hex, "created_at": started,
                        }
                    )  # fmt: skip
            await session.execute(insert(AiSession), rows)
            await session.execute(insert(PsaActivityLog), pushes)
    target = WriteTarget(ids[0], uuid.uuid4(), [uuid.uuid4() for _ in range(WRITES)])
    async with account_transaction(sessionmaker, target.account_id) as session:
        await session.execute(
            insert(Tree).values(
                id=target.flow_id, account_id=target.account_id, name="Written flow",
                category="Identity", status="published",
            )
        )  # fmt: skip
        await session.execute(
            insert(AiSession),
            [
                {"id": session_id, "account_id": target.account_id, "started_at": now}
                for session_id in target.session_ids
            ],
        )
    await owner.dispose()
    return ids, target


async def _writer(
    http: httpx.AsyncClient, target: WriteTarget, token: str, stop_at: float,
    reported: dict[uuid.UUID, bool],
) -> None:  # fmt: skip
    """Match the target's sessions one by one; remember which the API said it recorded."""
    for session_id in target.session_ids:
        if time.perf_counter() >= stop_at:
            return
        variables = {"s": str(session_id), "f": str(target.flow_id)}
        try:
            response = await http.post(
                "/graphql",
                json={"query": RECORD_MATCH, "variables": variables},
                headers={"Authorization": f"Bearer {token}"},
            )
            reported[session_id] = response.status_code == 200 and not _codes(response)
        except httpx.HTTPError:
            reported[session_id] = False
        await asyncio.sleep(WRITE_INTERVAL_S)


async def check_writes(
    pg: OwnPostgres, target: WriteTarget, reported: dict[uuid.UUID, bool]
) -> dict[str, Any]:
    """Every match the API confirmed is stored, and the flow's counter equals the sessions
    really matched to it (no match is half done, whatever the outage interrupted)."""
    owner = create_engine(pg.url(database="flowpilot"), pool_size=1, max_overflow=0)
    try:
        async with account_transaction(create_sessionmaker(owner), target.account_id) as db:
            matched = set(
                (
                    await db.execute(
                        select(AiSession.id).where(AiSession.matched_flow_id == target.flow_id)
                    )
                ).scalars()
            )
            usage = (
                await db.execute(select(Tree.usage_count).where(Tree.id == target.flow_id))
            ).scalar_one()
    finally:
        await owner.dispose()
    confirmed = {session_id for session_id, ok in reported.items() if ok}
    return {
        "issued": len(reported),
        "confirmed": len(confirmed),
        "refused": len(reported) - len(confirmed),
        "stored": len(matched),
        "flow_usage_count": usage,
        "confirmed_all_stored": confirmed <= matched,
        "counter_matches_stored": usage == len(matched),
    }


@dataclass
class Sample:
    sent: float
    latency: float
    account: int
    ok: bool
    codes: tuple[str, ...]
    noisy: bool = False


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)


def _codes(response: httpx.Response) -> tuple[str, ...]:
    try:
        body = response.json()
    except ValueError:
        return (f"HTTP_{response.status_code}",)
    return tuple(
        str((error.get("extensions") or {}).get("code")) for error in body.get("errors") or []
    )


async def _client(
    http: httpx.AsyncClient, recorder: Recorder, account: int, token: str, body_of: Any,
    stop_at: float, noisy: bool = False, rps: float | None = None,
) -> None:  # fmt: skip
    tabs = sorted(TAB_DOCUMENTS)
    turn = account
    next_send = time.perf_counter()
    while time.perf_counter() < stop_at:
        if rps:
            await asyncio.sleep(max(0.0, next_send - time.perf_counter()))
            next_send = max(next_send + 1 / rps, time.perf_counter())
            if time.perf_counter() >= stop_at:
                return
        body = body_of(tabs[turn % len(tabs)])
        turn += 1
        sent = time.perf_counter()
        try:
            response = await http.post(
                "/graphql", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            codes = _codes(response)
            ok = response.status_code == 200 and not codes
        except httpx.HTTPError as error:
            codes, ok = (type(error).__name__,), False
        recorder.samples.append(Sample(sent, time.perf_counter() - sent, account, ok, codes, noisy))


def _count(groups: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for codes in groups:
        for code in codes:
            counts[code] = counts.get(code, 0) + 1
    return counts


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 1)


def start_app(
    pg: OwnPostgres, port: int, log: Any, shape: Shape = Shape()
) -> subprocess.Popen[bytes]:
    """uvicorn as a child process; its log goes to a file (a full pipe would block it)."""
    budget = {
        name: str(value)
        for name, value in (
            ("RATE_LIMIT_BURST_COST", shape.burst_cost),
            ("RATE_LIMIT_COST_PER_S", shape.cost_per_s),
        )
        if value is not None
    }
    env = {
        **os.environ,
        "DATABASE_URL": pg.url(APP_ROLE, "flowpilot"),
        "AUTH_JWT_SECRET": SECRET,
        "REQUEST_TIMEOUT_S": str(shape.request_timeout_s),
        "DB_POOL_SIZE": "10",
        "DB_MAX_OVERFLOW": "5",
        "DB_POOL_TIMEOUT_S": "3",
        "DB_CONNECT_TIMEOUT_S": "2",
        "SUCCESS_RATE_RECALC_INTERVAL_S": "0",
        # The run's budget arithmetic (the noisy tenant is always refused) counts executed
        # requests; a cached repeat costs 1 (docs/caching.md), so the cache is off here.
        "ANALYTICS_CACHE": "0",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        **budget,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "service.app:app_from_env", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log"],
        env=env, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip


async def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"the app exited with {process.returncode}; see app.log")
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the app did not become ready")


async def run(
    seconds: float, clients: int, accounts: int, sessions: int, shape: Shape = Shape()
) -> dict[str, Any]:
    pg = OwnPostgres()
    pg.init()
    process: subprocess.Popen[bytes] | None = None
    try:
        ids, target = await prepare(pg, accounts + 1, sessions)
        settings = Settings(jwt_secret=SECRET)
        tokens = [issue_token(settings, account_id=a, role="team_admin") for a in ids]
        service_token = issue_token(settings, account_id=target.account_id, role="service")
        reported: dict[uuid.UUID, bool] = {}
        port = embedded._free_port()
        base = f"http://127.0.0.1:{port}"
        log = (pg.root / "app.log").open("wb")
        process = start_app(pg, port, log, shape)
        await wait_ready(base, process)
        pid = process.pid
        recorder = Recorder()
        third = seconds / 3
        start = time.perf_counter()
        stop_at = start + seconds
        limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
        # The abuser has connections of its own, as it would: the others' pool stays theirs.
        abuser_limits = httpx.Limits(max_connections=ABUSIVE_CLIENTS)
        async with (
            httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http,
            httpx.AsyncClient(base_url=base, limits=abuser_limits, timeout=30) as abuser_http,
        ):
            tab_bodies = {tab: {"query": tab_query(tab)} for tab in TAB_DOCUMENTS}
            workers = [
                asyncio.create_task(
                    _client(http, recorder, i % accounts, tokens[i % accounts],
                            tab_bodies.__getitem__, stop_at, rps=shape.client_rps)
                )
                for i in range(clients)
            ]  # fmt: skip
            workers.append(
                asyncio.create_task(_writer(http, target, service_token, stop_at, reported))
            )
            # Outage in the middle third.
            await asyncio.sleep(max(0.0, start + third - time.perf_counter()))
            down_at = time.perf_counter()
            await asyncio.to_thread(pg.stop)
            await asyncio.sleep(OUTAGE_S)
            await asyncio.to_thread(pg.start)
            up_at = time.perf_counter()
            # Noisy tenant in the last third.
            await asyncio.sleep(max(0.0, start + 2 * third - time.perf_counter()))
            burst_at = time.perf_counter()
            noisy = [
                asyncio.create_task(
                    _client(http, recorder, accounts, tokens[-1],
                            lambda _tab: {"query": NOISY_QUERY}, stop_at, noisy=True)
                )
                for _ in range(shape.noisy_clients or max(4, clients // 4))
            ]  # fmt: skip
            noisy += [
                asyncio.create_task(
                    _client(abuser_http, recorder, ABUSER, tokens[-1],
                            lambda _tab: {"query": ABUSIVE_QUERY}, stop_at, noisy=True)
                )
                for _ in range(ABUSIVE_CLIENTS)
            ]  # fmt: skip
            await asyncio.gather(*workers, *noisy)
        alive = process.poll() is None and process.pid == pid
        figures = report(
            recorder, start, down_at, up_at, burst_at, alive, seconds, clients,
            shape.request_timeout_s,
        )  # fmt: skip
        writes = await check_writes(pg, target, reported)
        figures["writes"] = writes
        figures["checks"]["writes_confirmed_stored_none_half_done"] = (
            writes["confirmed_all_stored"] and writes["counter_matches_stored"]
        )
        figures["passed"] = all(figures["checks"].values()) and all(
            figures["timing_checks"].values()
        )
        return figures
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        with contextlib.suppress(embedded.EmbeddedPostgresError):
            pg.stop()
        if not os.environ.get("LOAD_FAULT_KEEP"):
            shutil.rmtree(pg.root, ignore_errors=True)


def report(
    recorder: Recorder, start: float, down_at: float, up_at: float, burst_at: float,
    alive: bool, seconds: float, clients: int, request_timeout_s: float = REQUEST_TIMEOUT_S,
) -> dict[str, Any]:  # fmt: skip
    normal = [s for s in recorder.samples if not s.noisy]
    # In flight at any moment of the outage: the requests allowed to fail.
    during = [s for s in normal if s.sent < up_at and s.sent + s.latency >= down_at]
    baseline = [s for s in normal if s.sent + s.latency < down_at]
    after = [s for s in normal if s.sent >= up_at]
    recovery = [s for s in after if s.sent < burst_at]
    burst = [s for s in after if s.sent >= burst_at]
    noisy = [s for s in recorder.samples if s.noisy and s.account != ABUSER]
    abusive = [s for s in recorder.samples if s.account == ABUSER]
    outage_codes: dict[str, int] = {}
    for sample in during:
        for code in sample.codes:
            outage_codes[code] = outage_codes.get(code, 0) + 1
    baseline_p95 = _p95([s.latency for s in baseline if s.ok])
    burst_p95 = _p95([s.latency for s in burst if s.ok])
    failed_during = [s for s in during if not s.ok]
    figures: dict[str, Any] = {
        "seconds": seconds,
        "clients": clients,
        "requests": len(normal),
        "baseline": {
            "requests": len(baseline),
            "errors": sum(not s.ok for s in baseline),
            "error_codes": _count(s.codes for s in baseline),
            "p95_ms": baseline_p95,
            "rps": round(len(baseline) / max(down_at - start, 1e-9), 1),
        },
        "outage": {
            "seconds_down": round(up_at - down_at, 2),
            "requests": len(during),
            "failed": len(failed_during),
            "codes": outage_codes,
            "slowest_failure_ms": round(
                max((s.latency for s in failed_during), default=0) * 1000, 1
            ),
        },
        "after_restart": {
            "requests": len(recovery),
            "errors": sum(not s.ok for s in recovery),
            "p95_ms": _p95([s.latency for s in recovery if s.ok]),
        },
        "noisy_tenant": {
            "noisy_requests": len(noisy),
            "noisy_served": sum(s.ok for s in noisy),
            "noisy_rate_limited": sum("RATE_LIMITED" in s.codes for s in noisy),
            "others_requests": len(burst),
            "others_errors": sum(not s.ok for s in burst),
            "others_p95_ms": burst_p95,
            "ratio_to_baseline": (
                round(burst_p95 / baseline_p95, 2) if burst_p95 and baseline_p95 else None
            ),
            "abusive_requests": len(abusive),
            "abusive_codes": _count(s.codes for s in abusive),
        },
        "worker_alive_same_pid": alive,
    }
    checks = {
        "baseline_zero_errors": figures["baseline"]["errors"] == 0,
        "outage_failures_all_coded": all(
            s.codes and set(s.codes) <= OUTAGE_CODES for s in failed_during
        ),
        "all_after_restart_succeed": figures["after_restart"]["errors"] == 0
        and figures["noisy_tenant"]["others_errors"] == 0,
        "noisy_tenant_rate_limited": figures["noisy_tenant"]["noisy_rate_limited"] > 0,
        "abusive_overviews_all_refused": bool(abusive)
        and all(not s.ok and set(s.codes) <= _BUDGET_REFUSALS for s in abusive),
        "no_worker_restart": alive,
    }
    timing_checks = {
        "outage_only_database_unavailable": set(outage_codes) <= {"DATABASE_UNAVAILABLE"},
        "outage_fails_fast": figures["outage"]["slowest_failure_ms"] < request_timeout_s * 1000,
        "noisy_tenant_within_2x": (figures["noisy_tenant"]["ratio_to_baseline"] or 99) <= 2.0,
    }
    figures["checks"] = checks
    figures["timing_checks"] = timing_checks
    figures["passed"] = all(checks.values()) and all(timing_checks.values())
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--accounts", type=int, default=16)
    parser.add_argument("--sessions", type=int, default=1500, help="sessions per account")
    parser.add_argument(
        "--client-rps", type=float, default=None, help="cap per tab client (default: none)"
    )
    parser.add_argument("--noisy-clients", type=int, default=None, help="default: clients/4")
    args = parser.parse_args(argv)
    shape = Shape(client_rps=args.client_rps, noisy_clients=args.noisy_clients)
    figures = asyncio.run(run(args.seconds, args.clients, args.accounts, args.sessions, shape))
    print(json.dumps(figures, indent=2))
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
