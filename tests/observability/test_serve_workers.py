"""`serve --workers 2` as a real subprocess: any worker's /metrics answers with the sum over
both workers, and every line the server prints is one JSON object.

One run serves the whole module (starting two workers takes seconds): readiness checks one
at a time until both workers have answered one, a burst of /healthz spread over both,
scrapes until both workers have answered one, then GraphQL requests (one that succeeds,
refusals, a document with a literal that must never be logged), then SIGTERM.
"""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.auth import issue_token
from core.settings import Settings
from tests.factories import AccountBuilder
from tests.observability.served import SECRET, Served, serve

HEALTHZ_BURST = 24
MARKER = "LiteralThatMustNeverBeLogged"
REFUSED_ID = f"refused-{uuid.uuid4().hex}"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class Scrape:
    pid: int
    samples: Samples


@dataclass
class Run:
    lines: list[str]
    readyz_pids: set[int]
    healthz_pids: set[int]
    scrapes: list[Scrape]
    metrics_folders_while_serving: set[Path]
    metrics_folders_after: set[Path]
    ok_request_id: str


def _get(url: str, request_id: str, **headers: str) -> httpx.Response:
    # A client per request: a new connection each time, so the kernel picks the worker.
    with httpx.Client(timeout=30) as client:
        return client.get(url, headers={"X-Request-ID": request_id, **headers})


def _request_lines(served: Served) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for line in served.lines():
        parsed = json.loads(line)
        if parsed.get("event") == "request":
            found[parsed["request_id"]] = parsed
    return found


def _pid(served: Served, request_id: str) -> int:
    """The worker that answered: its request line follows the response by a moment."""
    deadline = time.monotonic() + 10
    while (line := _request_lines(served).get(request_id)) is None:
        assert time.monotonic() < deadline, f"no request line for {request_id}"
        time.sleep(0.02)
    pid: int = line["pid"]
    return pid


def _samples(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _metrics_folders(tmp: Path) -> set[Path]:
    return set(tmp.glob("flowpilot-metrics-*"))


def _graphql(served: Served, body: Any, request_id: str, token: str | None = None) -> None:
    headers = {"X-Request-ID": request_id, "Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    content = body if isinstance(body, str) else json.dumps(body)
    httpx.post(f"{served.url}/graphql", content=content, headers=headers, timeout=30)


@pytest.fixture(scope="module")
async def run(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Run]:
    account = await AccountBuilder.create(sessionmaker)
    token = issue_token(
        Settings(jwt_secret=SECRET), account_id=account.account_id, role="team_admin"
    )
    # The server gets a temporary folder of its own: another server on the machine (a
    # parallel run, a developer's) makes and removes folders of the same name in /tmp.
    tmp = Path(tempfile.mkdtemp(prefix="fp-serve-tmp-"))
    before = _metrics_folders(tmp)
    with serve(database_url, "--workers", "2", LOG_LEVEL="DEBUG", TMPDIR=str(tmp)) as served:
        # The readiness wait's one /readyz opened one connection in one worker; one at a
        # time, every later /readyz reuses its worker's connection or opens its first.
        readyz_pids: set[int] = set()
        for _ in range(60):
            request_id = f"ready-{uuid.uuid4().hex}"
            assert _get(f"{served.url}/readyz", request_id).status_code == 200
            readyz_pids.add(_pid(served, request_id))
            if len(readyz_pids) == 2:
                break
        ids = [f"health-{uuid.uuid4().hex}" for _ in range(HEALTHZ_BURST)]
        with ThreadPoolExecutor(HEALTHZ_BURST) as pool:
            statuses = list(pool.map(lambda i: _get(f"{served.url}/healthz", i).status_code, ids))
        assert statuses == [200] * HEALTHZ_BURST
        lines = _request_lines(served)
        healthz_pids = {lines[i]["pid"] for i in ids}

        scrapes: list[Scrape] = []
        for _ in range(10):
            batch = [f"scrape-{uuid.uuid4().hex}" for _ in range(4)]
            with ThreadPoolExecutor(4) as pool:
                texts = list(pool.map(lambda i: _get(f"{served.url}/metrics", i).text, batch))
            scrapes += [
                Scrape(_pid(served, i), _samples(t)) for i, t in zip(batch, texts, strict=True)
            ]
            if len({scrape.pid for scrape in scrapes}) == 2:
                break
        folders_while_serving = _metrics_folders(tmp) - before

        ok_id = f"ok-{uuid.uuid4().hex}"
        overview = "query Logged { overview(period: LAST_7_DAYS) { sessionCount } }"
        _graphql(served, {"query": overview}, ok_id, token)
        bad_literal = f'query Bad {{ overview(period: "{MARKER}") {{ sessionCount }} }}'
        _graphql(served, {"query": bad_literal}, f"bad-{uuid.uuid4().hex}", token)
        _graphql(served, {"query": bad_literal}, f"anon-{uuid.uuid4().hex}")
        _graphql(served, '{"query": "{ overview', f"json-{uuid.uuid4().hex}", token)
        _graphql(served, {"query": overview}, REFUSED_ID, "not.a.token")
    folders_after = _metrics_folders(tmp) - before
    shutil.rmtree(tmp)
    yield Run(
        served.lines(),
        readyz_pids,
        healthz_pids,
        scrapes,
        folders_while_serving,
        folders_after,
        ok_id,
    )


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_were_spread_over_both_workers(run: Run) -> None:
    assert len(run.readyz_pids) == 2
    assert len(run.healthz_pids) == 2
    assert len({scrape.pid for scrape in run.scrapes}) == 2


def test_every_scrape_shows_the_total_of_both_workers(run: Run) -> None:
    readyz_total = None
    for scrape in run.scrapes:
        samples = scrape.samples
        assert _value(samples, "flowpilot_requests_total", operation="/healthz", outcome="ok") == (
            HEALTHZ_BURST
        )
        readyz = _value(samples, "flowpilot_requests_total", operation="/readyz", outcome="ok")
        readyz_total = readyz if readyz_total is None else readyz_total
        assert readyz == readyz_total
        assert (
            _value(
                samples,
                "flowpilot_request_duration_seconds_count",
                operation="/healthz",
                outcome="ok",
            )
            == HEALTHZ_BURST
        )
        # At least one connection in each worker, opened by its /readyz (two when a worker
        # answered two at once), all idle between requests: the sum over both workers.
        idle = _value(samples, "flowpilot_db_pool_connections", pool="primary", state="idle")
        assert 2 <= idle <= readyz
        checked_out = {"pool": "primary", "state": "checked_out"}
        assert _value(samples, "flowpilot_db_pool_connections", **checked_out) == 0
    assert readyz_total is not None and readyz_total >= 2  # the readiness wait's, and one each


def test_build_info(run: Run) -> None:
    labels = {
        "version": metadata.version("flowpilot-analytics"),
        "python": platform.python_version(),
        "strawberry": metadata.version("strawberry-graphql"),
    }
    for scrape in run.scrapes:
        assert _value(scrape.samples, "flowpilot_build_info", **labels) == 1


def test_the_shared_metrics_folder_lives_as_long_as_the_server(run: Run) -> None:
    assert len(run.metrics_folders_while_serving) == 1
    assert run.metrics_folders_after == set()


def test_every_printed_line_is_one_json_object(run: Run) -> None:
    assert len(run.lines) > HEALTHZ_BURST
    for line in run.lines:
        parsed = json.loads(line)
        assert isinstance(parsed, dict), line
        assert {"timestamp", "level", "logger", "message", "request_id"} <= parsed.keys(), line
        assert parsed["level"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
    levels = {json.loads(line)["level"] for line in run.lines}
    assert "DEBUG" in levels  # LOG_LEVEL=DEBUG
    loggers = {json.loads(line)["logger"] for line in run.lines}
    assert {"uvicorn.error", "flowpilot.requests", "flowpilot.serve"} <= loggers


def test_request_lines_carry_their_request_id_and_no_document_text(run: Run) -> None:
    requests = [json.loads(line) for line in run.lines if '"event": "request"' in line]
    assert all(line["request_id"] for line in requests)
    by_id = {line["request_id"]: line for line in requests}
    ok = by_id[run.ok_request_id]
    assert (ok["operation"], ok["status"], ok["result"]) == ("Logged", 200, "ok")
    outcomes = {
        prefix: (line["status"], line["result"], line["error_codes"])
        for prefix in ("bad-", "anon-", "json-")
        for line in [by_id[next(i for i in by_id if i.startswith(prefix))]]
    }
    assert outcomes == {
        "bad-": (200, "error", ["GRAPHQL_VALIDATION_FAILED"]),
        "anon-": (401, "error", ["UNAUTHENTICATED"]),
        "json-": (400, "error", []),
    }
    printed = "\n".join(run.lines)
    assert MARKER not in printed
    assert "sessionCount" not in printed


def test_a_refused_token_is_logged_with_its_request_id(run: Run) -> None:
    parsed = [json.loads(line) for line in run.lines]
    refusals = [line for line in parsed if line["logger"] == "flowpilot.auth"]
    assert refusals  # (the response cache's hit path checks the token before the view does)
    for refusal in refusals:
        assert refusal["request_id"] == REFUSED_ID
        assert refusal["level"] == "INFO"
        assert refusal["message"] == "token refused: DecodeError: Invalid header padding"
