"""The browser of the browser checks: Debian's Chromium, driven by playwright-core.

Like Node, a missing browser is never a silent pass: the checks skip with the reason on a
developer's machine and fail under CI (`.ci/browser.sh` installs it there).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DEFAULT_CHROMIUM = "/usr/bin/chromium"


def require_chromium() -> str:
    """The Chromium executable (CHROMIUM_PATH, else Debian's /usr/bin/chromium)."""
    path = os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM
    if not Path(path).is_file() or not os.access(path, os.X_OK):
        reason = (
            f"Chromium is needed for the browser checks: {path} is missing "
            "(apt-get install -y chromium, or set CHROMIUM_PATH)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path
