"""`bench aliases`' pure parts: the aliases it picks, the checks of the merged answers, and
the figures per side."""

from __future__ import annotations

from typing import Any

import pytest

from bench.alias_pairs import alias_pairs, merge_problems
from bench.alias_table import SIDES, section, tab_figures

DOMAINS = [
    {"name": "Intune", "sessionCount": 100},
    {"name": "Intune Issues", "sessionCount": 50},
    {"name": "Email", "sessionCount": 40},
    {"name": "email  performance", "sessionCount": 30},
    {"name": "VPN", "sessionCount": 5},
    {"name": "Printers Issues", "sessionCount": 0},
]


def test_qualified_spellings_first_then_the_smallest_onto_the_largest() -> None:
    assert alias_pairs(DOMAINS, 2) == [("Intune Issues", "Intune"), ("email  performance", "Email")]
    # VPN has no qualified form: it goes onto the largest domain. "Printers Issues" has no
    # session in the window (nothing to merge), and Email and Intune are targets, so they are
    # never aliases themselves: three pairs however many are asked for.
    assert alias_pairs(DOMAINS, 10) == [
        ("Intune Issues", "Intune"),
        ("email  performance", "Email"),
        ("VPN", "Intune"),
    ]
    assert alias_pairs(DOMAINS[:1], 5) == []


def _answers(domains: list[tuple[str, int, int]], **rest: Any) -> dict[str, Any]:
    """Tab answers with the overview's and coverage's domains as (name, sessions, flows)."""
    total = sum(sessions for _, sessions, _ in domains)
    return {
        "overview": {
            "overview": {
                "sessionCount": total + 7,
                "asOf": rest.get("as_of", "t0"),
                "domains": [{"name": n, "sessionCount": s} for n, s, _ in domains],
            }
        },
        "coverage": {
            "coverage": {
                "unmappedSessionCount": 7,
                "domains": [{"name": n, "sessionCount": s, "flowCount": f} for n, s, f in domains],
            }
        },
        "flow-quality": {"flowQuality": {"flows": [{"usageCount": 3, "recencyScore": 0.5}]}},
        "psa": {"psaActivity": {"totalTimeEntries": rest.get("entries", 9)}},
    }


PLAIN = [("Intune", 100, 4), ("Intune Issues", 50, 2), ("Email", 40, 0), ("VPN", 5, 1)]
PAIRS = [("intune issues", "Intune"), ("VPN", "email")]


def test_merged_counts_are_the_sums_of_their_keys() -> None:
    merged = _answers([("Intune", 150, 6), ("Email", 45, 1)], as_of="t1")
    assert merge_problems(_answers(PLAIN), merged, PAIRS) == []


@pytest.mark.parametrize(
    ("merged", "entries", "expected"),
    [
        (
            [("Intune", 149, 6), ("Email", 45, 1)],
            9,
            [
                "overview sessionCount 'intune': expected 150, got 149",
                "coverage sessionCount 'intune': expected 150, got 149",
                "overview sessionCount: 202 without aliases, 201 with",
            ],
        ),
        (
            [("Intune", 150, 6), ("Email", 40, 0), ("VPN", 5, 1)],
            9,
            [
                "overview sessionCount 'email': expected 45, got 40",
                "overview sessionCount 'vpn': not expected, got 5",
                "coverage sessionCount 'email': expected 45, got 40",
                "coverage sessionCount 'vpn': not expected, got 5",
                "coverage flowCount 'email': expected 1, got 0",
                "coverage flowCount 'vpn': not expected, got 1",
            ],
        ),
        ([("Intune", 150, 6), ("Email", 45, 1)], 8, ["psa: the answer changed with aliases"]),
    ],
)
def test_every_difference_from_the_merge_is_named(
    merged: list[tuple[str, int, int]], entries: int, expected: list[str]
) -> None:
    problems = merge_problems(_answers(PLAIN), _answers(merged, entries=entries), PAIRS)
    assert problems == expected


def test_figures_pool_the_rounds_and_give_each_rounds_ratio() -> None:
    rounds = {
        "without": [[0.010, 0.020, 0.030], [0.040, 0.050, 0.060]],
        "with": [[0.011, 0.022, 0.033], [0.040, 0.040, 0.300]],
    }
    # CPU seconds (API, PostgreSQL) of each round's three requests.
    cpu = {"without": [(0.03, 0.06), (0.03, 0.0)], "with": [(0.06, 0.06), (0.06, 0.06)]}
    figures = tab_figures(rounds, cpu)
    # Nearest rank over the six pooled samples: p50 is the 3rd, p95 the 6th.
    assert figures["without"]["p50"] == pytest.approx(30.0)
    assert figures["without"]["p95"] == pytest.approx(60.0)
    assert figures["with"]["p50"] == pytest.approx(33.0)
    assert figures["with"]["p95"] == pytest.approx(300.0)
    assert figures["ratio_p50"] == pytest.approx(1.1)
    assert figures["ratio_p95"] == pytest.approx(5.0)
    assert figures["round_ratios_p50"] == [1.1, 0.8]  # 22 / 20 ms, 40 / 50 ms
    # Per request over the six: 60 ms / 6 and 60 ms / 6 without; 120 ms / 6 twice with.
    assert figures["without"]["api_cpu_ms"] == pytest.approx(10.0)
    assert figures["without"]["database_cpu_ms"] == pytest.approx(10.0)
    assert figures["with"]["api_cpu_ms"] == pytest.approx(20.0)
    assert figures["with"]["database_cpu_ms"] == pytest.approx(20.0)
    assert figures["ratio_cpu"] == pytest.approx(2.0)


def test_the_section_names_a_failed_check_and_no_run_gives_none() -> None:
    figures = tab_figures(
        {"without": [[0.01]], "with": [[0.02]]},
        {"without": [(0.005, 0.001)], "with": [(0.01, 0.002)]},
    )
    same = tab_figures({"without": [[0.01]], "with": [[0.01]]}, {s: [(0.005, 0.0)] for s in SIDES})
    result = {
        "account": "a",
        "period": "LAST_90_DAYS",
        "aliases": [["Intune Issues", "Intune"]],
        "rounds": 1,
        "repetitions": 1,
        "commit": "abc",
        "at": "now",
        "loads": [[2.0, 1.5, 1.0], [3.0, 2.0, 1.0]],
        "command": "python -m bench aliases",
        "tabs": {"overview": same, "psa": figures},
        "problems": ["psa: the answer changed with aliases"],
    }
    lines = section(result)
    row = "| psa | 10.0 | 10.0 | 20.0 | 20.0 | 2.00× | 2.00× | 5.0 + 1.0 | 10.0 + 2.0 | 2.00× "
    row += "| 2.00 |"
    assert row in lines
    assert "load average (1 min) 2.0 to 3.0" in lines[2]
    assert lines[-4] == (
        "Largest ratio with ÷ without: p50 2.00× (psa), CPU per request 2.00× (psa). Answers: "
        "**1 check(s) failed**, e.g. `psa: the answer changed with aliases`."
    )
    assert section(None) == []
