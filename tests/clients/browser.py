"""Debian's Chromium for the browser checks (playwright-core drives it; no Playwright download).

`.ci/browser.sh` installs it in CI; without it the browser tests skip with the reason on a
developer's machine and fail under CI, like the other client checks.
"""

from __future__ import annotations

import os
import shutil

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def require_chromium() -> str:
    """The browser executable (FLOWPILOT_CHROMIUM, else the first one on PATH)."""
    configured = os.environ.get("FLOWPILOT_CHROMIUM")
    found = configured or next(filter(None, map(shutil.which, CANDIDATES)), None)
    if found is None:
        reason = "Chromium is needed for the browser checks (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found
