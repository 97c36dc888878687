"""Spreadsheet-safe CSV text: free text must not become a formula in the reader's sheet.

Flow names and domain spellings come from sessions; a cell such as `=HYPERLINK(...)` or
`@SUM(...)` would run as a formula when a team lead opens the export. OWASP's advice for
CSV injection: prefix a text cell that starts with `=`, `+`, `-`, `@`, tab or carriage
return with `'`, which spreadsheets show as plain text. Numbers are never passed here,
so negative values stay numbers.
"""

from __future__ import annotations

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(text: str) -> str:
    """`text`, prefixed with `'` when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text
