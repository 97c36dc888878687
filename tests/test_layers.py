"""Imports point one way: each package uses only the layers below it (pyproject.toml's
`[tool.importlinter]`: service, schema, resolvers and writes, persistence, psa, core).

An upward import, also one inside a function, breaks the contract; an import under
`TYPE_CHECKING` does not (it is for annotations only).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_no_import_points_upward(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(os.fspath(ROOT))
    status = lint_imports(
        config_filename=os.fspath(ROOT / "pyproject.toml"), no_cache=True, no_logo=True
    )
    report = capsys.readouterr().out
    assert status == 0, report
    assert "0 broken" in report
