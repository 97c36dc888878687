"""CSV cells cannot smuggle spreadsheet formulas (OWASP CSV injection)."""

from __future__ import annotations

import pytest

from service.export.csv_cells import formula_safe
from service.export.csv_view import cell


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x.example","MFA")', '\'=HYPERLINK("http://x.example","MFA")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        (["=bad", "fine"], "'=bad;fine"),
        ("Reset MFA", "Reset MFA"),
        ("e-mail", "e-mail"),
        ("", ""),
    ],
)  # fmt: skip
def test_text_that_starts_like_a_formula_is_prefixed(value: object, written: str) -> None:
    assert cell(value) == written


@pytest.mark.parametrize(
    ("value", "written"),
    [(-3, "-3"), (-0.25, "-0.25"), (0.5, "0.5"), ([-1, 2], "-1;2"), (True, "true"), (None, "")],
)
def test_numbers_booleans_and_nulls_are_untouched(value: object, written: str) -> None:
    assert cell(value) == written


def test_formula_safe_prefixes_once() -> None:
    assert formula_safe("=1") == "'=1"
    assert formula_safe(formula_safe("=1")) == "'=1"
