"""The page's colour pairs meet WCAG 2 AA contrast: 4.5:1 for text, 3:1 for chart lines."""

from __future__ import annotations

import re

import pytest

from service.insights.page import STATIC_DIR

COLOURS = dict(
    re.findall(
        r"--([a-z0-9-]+):\s*(#[0-9a-fA-F]{6})",
        (STATIC_DIR / "insights.css").read_text(encoding="utf-8"),
    )
)


def luminance(hex_colour: str) -> float:
    """Relative luminance as WCAG 2 defines it."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize(
    ("foreground", "background", "minimum"),
    [
        ("ink", "paper", 4.5),
        ("ink", "wash", 4.5),
        ("muted", "paper", 4.5),
        ("muted", "wash", 4.5),
        ("accent", "paper", 4.5),
        ("good-ink", "good-bg", 4.5),
        ("warning-ink", "warning-bg", 4.5),
        ("critical-ink", "critical-bg", 4.5),
        ("none-ink", "none-bg", 4.5),
        ("s1", "paper", 3.0),
        ("s2", "paper", 3.0),
        ("s3", "paper", 3.0),
    ],
)
def test_colour_pairs_are_readable(foreground: str, background: str, minimum: float) -> None:
    ratio = contrast(COLOURS[foreground], COLOURS[background])
    assert ratio >= minimum, f"{foreground} on {background}: {ratio:.2f}"
