"""The day's two load generators replay the same people, and the server's request log
gives figures that do not depend on which of them sent the requests."""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from bench import day_wrk
from bench.day_mix import Person, clicks, people
from bench.server_log import request_lines, server_figures
from bench.wrk import wrk_path
from queries import tab_query

BIG, SMALL = uuid.UUID(int=1), uuid.UUID(int=2)


def test_larger_accounts_get_more_people_and_every_account_one() -> None:
    # sqrt(40_000) = 200 and sqrt(100) = 10: 21 viewers split 20 : 1.
    persons = people([(BIG, 40_000), (SMALL, 100)], viewers=21, poll_share=0.0, seed=1)
    assert [p.account_id for p in persons].count(BIG) == 20
    assert [p.account_id for p in persons].count(SMALL) == 1
    assert not any(p.poller for p in persons)
    # A tiny account still gets its one person when rounding would give none.
    persons = people([(BIG, 1_000_000), (SMALL, 1)], viewers=10, poll_share=0.0, seed=1)
    assert [p.account_id for p in persons].count(SMALL) == 1


def test_the_same_seed_gives_the_same_people_and_clicks() -> None:
    first = people([(BIG, 900), (SMALL, 100)], viewers=8, poll_share=0.5, seed=4)
    again = people([(BIG, 900), (SMALL, 100)], viewers=8, poll_share=0.5, seed=4)
    assert first == again
    today = date(2026, 3, 15)
    a, b = clicks(first[0], 3.0, today), clicks(again[0], 3.0, today)
    assert [next(a) for _ in range(20)] == [next(b) for _ in range(20)]


def test_a_poller_reloads_the_overview_and_every_click_thinks_first() -> None:
    poller = Person(BIG, poller=True, seed=0.5)
    stream = clicks(poller, 2.0, date(2026, 3, 15))
    taken = [next(stream) for _ in range(50)]
    assert {c.tab for c in taken} == {"overview"}
    assert all(c.variables == {"period": "LAST_30_DAYS"} for c in taken)
    assert all(c.think_s > 0 for c in taken)  # the first click too: starts are staggered


def test_custom_ranges_are_last_calendar_month() -> None:
    person = Person(BIG, poller=False, seed=0.25)
    stream = clicks(person, 1.0, date(2026, 3, 15))
    ranges = [c.variables["range"] for c in (next(stream) for _ in range(400))
              if "range" in c.variables]  # fmt: skip
    assert ranges and all(r == {"from": "2026-02-01", "to": "2026-02-28"} for r in ranges)
    # Comparisons only on the tabs that have them.
    stream = clicks(person, 1.0, date(2026, 3, 15))
    for click in (next(stream) for _ in range(400)):
        if "compareTo" in click.variables:
            assert click.tab in ("overview", "psa")


def test_the_wrk_plan_keeps_each_persons_clicks_in_order_within_the_time() -> None:
    persons = [Person(BIG, False, 0.1), Person(SMALL, True, 0.2)]
    today = date(2026, 3, 15)
    planned = day_wrk.plan(persons, think_s=1.0, seconds=30.0, today=today)
    for index, person in enumerate(persons):
        own = [(tab, variables) for tab, who, variables in planned if who == index]
        expected = []
        at = 0.0
        for click in clicks(person, 1.0, today):
            at += click.think_s
            if at > 30.0:
                break
            expected.append((click.tab, click.variables))
        assert own == expected
    times = [at for at, _who, _tab in _timed(persons, 1.0, 30.0, today)]
    assert times == sorted(times) and len(times) == len(planned) > 20


def _timed(
    persons: list[Person], think_s: float, seconds: float, today: date
) -> list[tuple[float, int, str]]:
    out = []
    for index, person in enumerate(persons):
        at = 0.0
        for click in clicks(person, think_s, today):
            at += click.think_s
            if at > seconds:
                break
            out.append((at, index, click.tab))
    return sorted(out)


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append((self.headers["Authorization"], body))
        payload = b'{"data":{}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


def test_wrk_sends_the_plan_in_order_with_each_accounts_token() -> None:
    wrk = wrk_path()
    if wrk is None:
        reason = "wrk is needed for the Lua script's check (apt-get install wrk; .ci/wrk.sh)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    persons = [Person(BIG, False, 0.1), Person(SMALL, False, 0.2)]
    today = date(2026, 3, 15)
    planned = day_wrk.plan(persons, think_s=0.02, seconds=2.0, today=today)
    lua = day_wrk.script(persons, {BIG: "t-big", SMALL: "t-small"}, 0.02, 2.0, 1, today)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}"
        summary = day_wrk.run(wrk, base_url, lua, connections=1, seconds=1)
    finally:
        server.shutdown()
    seen = _Recorder.seen
    # One connection: every request is the plan's next click (wrapping round at its end).
    # wrk asks the script for one request at start to check it, so the first sent is the
    # plan's second.
    assert summary["failures"] == 0 and len(seen) >= 5
    for position, (authorization, body) in enumerate(seen, start=1):
        tab, who, variables = planned[position % len(planned)]
        assert authorization == f"Bearer {'t-big' if who == 0 else 't-small'}"
        assert body == {"query": tab_query(tab), "variables": variables}


def _line(at: str, operation: str | None, ms: float, **extra: object) -> str:
    fields = {"timestamp": at, "event": "request", "path": "/graphql", "operation": operation,
              "duration_ms": ms, "result": "ok", "cache": None, **extra}  # fmt: skip
    return json.dumps(fields)


def test_server_figures_count_the_window_only_by_tab() -> None:
    lines = request_lines(
        [
            "not json",
            json.dumps({"timestamp": "2026-03-15T10:00:01+00:00", "event": "startup"}),
            _line("2026-03-15T10:00:00.500+00:00", "CoverageTab", 99.0),  # before the window
            _line("2026-03-15T10:00:01+00:00", "CoverageTab", 10.0),
            _line("2026-03-15T10:00:02+00:00", "OverviewTab", 4.0, cache="hit"),
            _line("2026-03-15T10:00:03+00:00", "OverviewTab", 6.0, cache="miss"),
            _line("2026-03-15T10:00:04+00:00", "PsaTab", 8.0, result="error"),
            _line("2026-03-15T10:00:05+00:00", "FlowQualityTab", 77.0),  # at the end: out
        ]
    )
    assert len(lines) == 6
    start = 1773568801.0  # 2026-03-15T10:00:01Z
    figures = server_figures(lines, start, start + 4)
    assert figures["requests"] == 4 and figures["rps"] == 1.0 and figures["errors"] == 1
    # Nearest rank: 4 values 4, 6, 8, 10 → p50 the 2nd, p95 the 4th.
    assert (figures["p50_ms"], figures["p95_ms"]) == (6.0, 10.0)
    assert figures["tabs"]["overview"] == {"n": 2, "p50_ms": 4.0, "p95_ms": 6.0}
    assert figures["tabs"]["flow-quality"] == {"n": 0, "p50_ms": None, "p95_ms": None}
    assert figures["cache_outcomes"] == {"hit": 1, "miss": 1}
