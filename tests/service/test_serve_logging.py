"""`serve` leaves request logging to the JSON line of `flowpilot.requests`: uvicorn's own
access line would log every request a second time."""

from __future__ import annotations

import argparse
import signal
from typing import Any

import pytest
import uvicorn

from service.cli import serve as cli_serve


def test_uvicorn_runs_without_its_access_log(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    previous = signal.getsignal(signal.SIGTERM)
    try:
        cli_serve._run_uvicorn(
            argparse.Namespace(host="127.0.0.1", port=8000, reload=False, workers=None)
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert len(calls) == 1
    assert calls[0]["access_log"] is False
    # uvicorn's own lines go through the product's JSON lines; its access logger reaches
    # no handler, so uvicorn does not format an access line at all.
    config = calls[0]["log_config"]
    assert config["formatters"]["json"]["()"] == "service.observability.log_format.JsonLines"
    assert config["loggers"]["uvicorn.error"] == {
        "handlers": [],
        "propagate": True,
        "level": "INFO",
    }
    assert config["loggers"]["uvicorn.access"] == {"handlers": [], "propagate": False}
