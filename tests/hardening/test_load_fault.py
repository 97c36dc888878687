"""The load and fault run in its short form (about a minute): its own PostgreSQL, stopped
for 5 s under load; `-m "not slow"` deselects it."""

from __future__ import annotations

import json

import pytest

from bench.load_fault import run


@pytest.mark.slow
async def test_short_load_fault_run() -> None:
    figures = await run(seconds=36, clients=16, accounts=8, sessions=400)
    print(json.dumps(figures, indent=2))
    assert figures["checks"] == {name: True for name in figures["checks"]}, figures
    assert figures["baseline"]["requests"] > 0 and figures["after_restart"]["requests"] > 0
    assert figures["outage"]["codes"].get("DATABASE_UNAVAILABLE", 0) > 0
    writes = figures["writes"]
    assert writes["confirmed"] > 0 and writes["refused"] > 0  # some landed, some hit the outage
    assert writes["flow_usage_count"] == writes["stored"] >= writes["confirmed"]
