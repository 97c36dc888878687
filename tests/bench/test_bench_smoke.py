"""The benchmark end to end at a tiny scale: generate, then one short round of `run`.

The exactness check is the point: for every tab and period, on the largest and the median
account, the API's numbers must equal the floor's (hand-written SQL over the raw tables).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import asyncpg

from bench.compare import differences
from bench.dataset import Counters, generate_account
from bench.generate import generate
from bench.run import PERIODS, RunOptions, page_rows, run
from bench.scales import SCALES
from persistence.engine import asyncpg_dsn
from queries import TAB_DOCUMENTS


def test_generation_is_deterministic_per_seed() -> None:
    spec = SCALES["XS"].named[0]
    first = generate_account(7, 0, spec, 30, date(2024, 3, 1), Counters(0, 0), 1)
    again = generate_account(7, 0, spec, 30, date(2024, 3, 1), Counters(0, 0), 1)
    other = generate_account(8, 0, spec, 30, date(2024, 3, 1), Counters(0, 0), 1)
    assert first.sessions == again.sessions and first.activities == again.activities
    assert first.sessions["problem_domain"] != other.sessions["problem_domain"]


def test_comparison_reports_every_kind_of_difference() -> None:
    floor = {"a": [{"n": 3, "rate": 0.5, "name": "VPN"}], "b": None}
    assert (
        differences({"a": [{"n": 3, "rate": 0.5 + 1e-13, "name": "VPN"}], "b": None}, floor) == []
    )
    assert differences({"a": [{"n": 4, "rate": 0.5, "name": "VPN"}], "b": None}, floor)
    assert differences({"a": [{"n": 3, "rate": 0.6, "name": "VPN"}], "b": None}, floor)
    assert differences({"a": [], "b": None}, floor)
    assert differences({"a": [{"n": 3, "rate": 0.5, "name": "VPN"}], "b": 0}, floor)


async def test_generate_and_run_xs(empty_database_url: str, tmp_path: Path) -> None:
    report = await generate("XS", seed=3, database_url=empty_database_url, log=lambda _: None)
    assert (report.accounts, report.sessions) == (3, 3000)

    connection = await asyncpg.connect(asyncpg_dsn(empty_database_url))
    try:
        sessions = await connection.fetchval("SELECT count(*) FROM ai_sessions")
        linked = await connection.fetchval(
            "SELECT count(*) FROM ai_sessions WHERE psa_ticket_id IS NOT NULL"
        )
        activities = await connection.fetchval("SELECT count(*) FROM psa_activity_log")
        # The flows' lifetime counters agree with the sessions matched to them.
        mismatched = await connection.fetchval(
            """SELECT count(*) FROM trees t
               WHERE t.usage_count <> (SELECT count(*) FROM ai_sessions s
                                       WHERE s.matched_flow_id = t.id)"""
        )
    finally:
        await connection.close()
    assert sessions == 3000
    assert 0.6 < linked / sessions < 0.8
    assert 1.5 < activities / sessions < 2.5
    assert mismatched == 0

    output = tmp_path / "XS.json"
    options = RunOptions(
        scale="XS",
        database_url=empty_database_url,
        command="test",
        repetitions=2,
        budget=0.0,
        load_seconds=0.3,
        output=output,
    )
    results = await run(options, log=lambda _: None)

    assert output.exists()
    seen = {(case["tab"], case["period"], case["account_role"]) for case in results["cases"]}
    expected = {
        (tab, period, role)
        for tab in TAB_DOCUMENTS
        for period in PERIODS
        for role in ("largest", "median")
    }
    assert seen == expected
    for case in results["cases"]:
        assert case["equal"], (case["tab"], case["period"], case["differences"])
        assert case["statements"] >= 1 and case["rows_read"] >= 1
        assert case["http"]["n"] >= 2
    assert [row["concurrency"] for row in results["throughput"]] == [1, 8, 32]
    assert all(row["errors"] == 0 for row in results["throughput"])
    assert results["server_peak_rss_mb"] > 0
    assert {row["tab"] for row in results["growth"]} == {"coverage", "flow-quality"}
    assert all(row["page_rows"] >= 1 and row["account_flows"] >= 1 for row in results["growth"])


def test_page_rows_counts_every_list_item_at_any_depth() -> None:
    coverage = {
        "coverage": {
            "totalDomains": 2,
            "domains": [
                {"name": "Email", "flows": [{"flow": {"id": "a"}}, {"flow": {"id": "b"}}]},
                {"name": "VPN", "flows": []},
            ],
            "knowledgeGaps": [{"name": "VPN"}],
        }
    }
    assert page_rows(coverage) == 2 + 2 + 0 + 1
    assert page_rows({"flowQuality": {"flows": [], "totalFlows": 0}}) == 0
