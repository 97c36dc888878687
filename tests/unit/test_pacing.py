"""A build's pacing: the pause after a chunk is its own time x (1 / duty cycle - 1)."""

from __future__ import annotations

import pytest

from core.settings import SettingsError, checked_setting
from persistence.operations.online_ddl import IndexBuild, LockPolicy
from persistence.rollups import UNPACED, Pacing


def test_the_pause_after_a_chunk_follows_the_duty_cycle() -> None:
    assert UNPACED.pause_after(0.4) == 0.0
    assert Pacing(0.5).pause_after(0.4) == pytest.approx(0.4)
    assert Pacing(0.25).pause_after(0.2) == pytest.approx(0.6)
    assert Pacing(0.5).pause_after(-1.0) == 0.0


def test_the_duty_cycle_and_index_settings_are_read_within_their_bounds() -> None:
    assert checked_setting("rollup_build_duty_cycle", {}) == 0.5
    assert checked_setting("rollup_build_duty_cycle", {"ROLLUP_BUILD_DUTY_CYCLE": "1"}) == 1.0
    for bad in ("0", "1.01", "-0.5"):
        with pytest.raises(SettingsError) as refused:
            checked_setting("rollup_build_duty_cycle", {"ROLLUP_BUILD_DUTY_CYCLE": bad})
        assert str(refused.value) == (
            f"ROLLUP_BUILD_DUTY_CYCLE must be a number above 0 and at most 1, got {float(bad):g}"
        )
    policy = LockPolicy.from_environ({"MIGRATE_INDEX_MEMORY_MB": "32"})
    assert policy.index_build == IndexBuild(memory_mb=32, workers=0)
    with pytest.raises(ValueError, match=r"MIGRATE_INDEX_WORKERS must be .* at most 8"):
        LockPolicy.from_environ({"MIGRATE_INDEX_WORKERS": "9"})


def test_an_index_build_runs_alone_with_bounded_memory() -> None:
    assert IndexBuild(64, 0).settings() == [
        "SET maintenance_work_mem = '64MB'",
        "SET max_parallel_maintenance_workers = 0",
    ]
    assert IndexBuild(16, 2, compress_wal=True).settings()[-1] == "SET wal_compression = on"
    assert IndexBuild(16, 2, compress_wal=True).resets()[-1] == "RESET wal_compression"


def test_after_an_index_build_the_migration_rests_by_its_duty_cycle() -> None:
    assert IndexBuild().rest_after(10.0) == 10.0
    assert IndexBuild(duty_cycle=0.25).rest_after(10.0) == 30.0
    assert IndexBuild(duty_cycle=1.0).rest_after(10.0) == 0.0
    policy = LockPolicy.from_environ({"MIGRATE_INDEX_DUTY_CYCLE": "0.2"})
    assert policy.index_build.rest_after(2.0) == pytest.approx(8.0)
    with pytest.raises(ValueError, match=r"MIGRATE_INDEX_DUTY_CYCLE must be a number above 0"):
        LockPolicy.from_environ({"MIGRATE_INDEX_DUTY_CYCLE": "0"})
