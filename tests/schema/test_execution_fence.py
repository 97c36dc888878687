"""The lean executor runs only on the graphql-core and strawberry it was written for, and
only while LEAN_EXECUTION is on; otherwise graphql-core's own execution runs."""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from core.settings import Settings
from schema import execution_fence
from schema.build import build_schema_for
from schema.execution_fence import LEAN_WRITTEN_FOR, execution_context_class
from schema.lean_execution import LeanExecutionContext

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_check() -> Iterator[None]:
    execution_fence._lean_context.cache_clear()
    yield
    execution_fence._lean_context.cache_clear()


def test_the_pins_are_the_versions_the_lean_executor_was_written_for() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = {
        name: version
        for name, _, version in (
            requirement.partition("==") for requirement in project["project"]["dependencies"]
        )
        if version
    }
    assert {name: pins.get(name) for name in LEAN_WRITTEN_FOR} == LEAN_WRITTEN_FOR


def test_on_the_pinned_versions_the_served_schema_runs_lean() -> None:
    assert execution_fence.version_mismatch() is None  # the installed ones are the pins
    schema = build_schema_for(Settings())
    assert schema.execution_context_class is LeanExecutionContext


def test_the_setting_switches_it_off() -> None:
    schema = build_schema_for(Settings(lean_execution=False))
    assert schema.execution_context_class is StrawberryGraphQLCoreExecutionContext


def test_another_version_falls_back_with_one_log_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    installed = {
        "graphql-core": "3.3.3",
        "strawberry-graphql": LEAN_WRITTEN_FOR["strawberry-graphql"],
    }
    monkeypatch.setattr(execution_fence, "_installed", installed.get)
    with caplog.at_level(logging.WARNING, logger=execution_fence.__name__):
        first = build_schema_for(Settings())
        second = build_schema_for(Settings())
    assert first.execution_context_class is StrawberryGraphQLCoreExecutionContext
    assert second.execution_context_class is StrawberryGraphQLCoreExecutionContext
    assert [record.getMessage() for record in caplog.records] == [
        "lean execution off, graphql-core's own execution runs: "
        "graphql-core 3.3.3 (written for 3.3.2)"
    ]


def test_a_missing_distribution_counts_as_another_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(execution_fence, "_installed", lambda name: None)
    assert execution_context_class(lean=True) is None
    assert execution_fence.version_mismatch() == (
        "graphql-core missing (written for 3.3.2), strawberry-graphql missing (written for 0.341.2)"
    )
