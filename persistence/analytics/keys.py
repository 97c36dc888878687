"""The domain key: lower-cased, trimmed text with runs of white space collapsed.

The SQL and Python forms must agree; tests compare them on awkward spellings.
"""

from __future__ import annotations

import re

_WHITESPACE = re.compile(r"\s+")


def domain_key_sql(column: str) -> str:
    """SQL for the domain key of `column` (NULL for NULL or blank text)."""
    return f"NULLIF(lower(btrim(regexp_replace({column}, '\\s+', ' ', 'g'))), '')"


def domain_key(text: str | None) -> str | None:
    """The Python twin of `domain_key_sql`."""
    if text is None:
        return None
    key = _WHITESPACE.sub(" ", text).strip(" ").lower()
    return key or None
