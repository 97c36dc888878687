"""docs/benchmarks.md's evidence table: each filter's figures, before beside after."""

from __future__ import annotations

from bench.report import evidence_section


def _run(commit: str, cases: dict[str, dict[str, float | int | str]]) -> dict[str, object]:
    return {
        "account": "a-1",
        "period": "LAST_90_DAYS",
        "server_commit": commit,
        "at": "2026-12-06T16:00:00+00:00",
        "load_average_at_start": [3.5, 3.0, 2.0],
        "load_average_at_end": [4.25, 3.5, 2.5],
        "command": "python -m bench evidence --database-url db",
        "cases": cases,
    }


def test_each_filter_shows_its_run_before_and_the_target_verdict() -> None:
    before = _run("aaa1111", {"flow": {"totalCount": 7, "p50": 90.0, "p95": 124.25}})
    after = _run(
        "bbb2222",
        {
            "flow": {"totalCount": 7, "p50": 9.0, "p95": 50.0},
            "tier": {"totalCount": 1234, "p50": 40.0, "p95": 50.05},
            "day": {"error": "504 TIMEOUT", "p95": float("inf")},
        },
    )
    lines = evidence_section(after, before)
    assert (
        "- Before: server `aaa1111`, 2026-12-06T16:00:00+00:00, load average (1, 5, 15 min) "
        "[3.5, 3.0, 2.0] at the start, [4.25, 3.5, 2.5] at the end."
    ) in lines
    assert lines[lines.index("| filter | totalCount | before p95 ms | p50 ms | p95 ms | |") :][
        2:5
    ] == [
        "| flow | 7 | 124.2 | 9.0 | 50.0 | met |",
        "| tier | 1,234 | – | 40.0 | 50.0 | **missed** |",
        "| day | 504 TIMEOUT | | | |",
    ]


def test_no_run_no_section_and_without_a_run_before_no_column() -> None:
    assert evidence_section(None, None) == []
    lines = evidence_section(_run("bbb2222", {"flow": {"totalCount": 0, "p50": 1, "p95": 2}}), None)
    assert "| flow | 0 | 1.0 | 2.0 | met |" in lines
    assert "| filter | totalCount | p50 ms | p95 ms | |" in lines
    assert not any(
        line.startswith(("- Before", "| filter | totalCount | before")) for line in lines
    )
