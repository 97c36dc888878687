"""The load and fault report keeps behaviour (`checks`) apart from timing (`timing_checks`):
a slow burst fails only the timing, an uncoded outage failure fails the behaviour."""

from __future__ import annotations

from typing import Any

from bench.load_fault import ABUSER, Recorder, Sample, report

# Baseline until 10 s, PostgreSQL down from 10 to 15 s, the noisy tenant from 20 s.
DOWN, UP, BURST = 10.0, 15.0, 20.0


def _recorder(*outage: Sample) -> Recorder:
    return Recorder(
        [
            Sample(sent=1.0, latency=0.1, account=0, ok=True, codes=()),
            Sample(sent=2.0, latency=0.1, account=1, ok=True, codes=()),
            *outage,
            Sample(sent=16.0, latency=0.1, account=0, ok=True, codes=()),
            # Under the burst the other accounts answer in 0.3 s: 3x the baseline's 0.1 s.
            Sample(sent=21.0, latency=0.3, account=1, ok=True, codes=()),
            Sample(21.0, 0.01, account=2, ok=False, codes=("RATE_LIMITED",), noisy=True),
            # The abusive overviews: refused by cost or by the budget, never served.
            Sample(22.0, 0.01, account=ABUSER, ok=False, codes=("QUERY_TOO_COMPLEX",), noisy=True),
            Sample(22.5, 0.01, account=ABUSER, ok=False, codes=("RATE_LIMITED",), noisy=True),
        ]
    )


def _figures(recorder: Recorder) -> dict[str, Any]:
    return report(recorder, 0.0, DOWN, UP, BURST, True, 30.0, 2, request_timeout_s=5.0)


def test_slow_burst_fails_only_the_timing() -> None:
    outage = Sample(sent=11.0, latency=2.0, account=0, ok=False, codes=("DATABASE_UNAVAILABLE",))
    figures = _figures(_recorder(outage))
    assert figures["checks"] == {
        "baseline_zero_errors": True,
        "outage_failures_all_coded": True,
        "all_after_restart_succeed": True,
        "noisy_tenant_rate_limited": True,
        "abusive_overviews_all_refused": True,
        "no_worker_restart": True,
    }
    assert figures["timing_checks"] == {
        "outage_only_database_unavailable": True,
        "outage_fails_fast": True,
        "noisy_tenant_within_2x": False,  # 300 ms / 100 ms = 3.0
    }
    assert figures["noisy_tenant"]["ratio_to_baseline"] == 3.0
    assert figures["passed"] is False


def test_uncoded_outage_failure_fails_the_behaviour() -> None:
    dropped = Sample(sent=12.0, latency=6.0, account=1, ok=False, codes=("ReadError",))
    timed_out = Sample(sent=12.5, latency=5.0, account=0, ok=False, codes=("TIMEOUT",))
    figures = _figures(_recorder(dropped, timed_out))
    checks = figures["checks"]
    timing = figures["timing_checks"]
    assert checks["outage_failures_all_coded"] is False
    assert timing["outage_fails_fast"] is False  # 6,000 ms >= 5,000
    assert timing["outage_only_database_unavailable"] is False
    assert figures["outage"]["failed"] == 2


def test_a_served_abusive_overview_fails_the_behaviour() -> None:
    served = Sample(22.0, 3.0, account=ABUSER, ok=True, codes=(), noisy=True)
    assert _figures(_recorder(served))["checks"]["abusive_overviews_all_refused"] is False
