"""The domain key: lower-cased, trimmed text with runs of white space collapsed.

The SQL and Python forms must agree; tests compare them on awkward spellings.
"""

from __future__ import annotations

import re

# PostgreSQL's `\s` on a UTF-8 database (glibc's iswspace): Python's `\s` would also take
# no-break spaces, NEL and the ASCII separators U+001C–U+001F, which the SQL form keeps.
_WHITESPACE = re.compile("[\t\n\v\f\r \u1680\u2000-\u2006\u2008-\u200a\u2028\u2029\u205f\u3000]+")


def domain_key_sql(column: str) -> str:
    """SQL for the domain key of `column` (NULL for NULL or blank text)."""
    return f"NULLIF(lower(btrim(regexp_replace({column}, '\\s+', ' ', 'g'))), '')"


def domain_key(text: str | None) -> str | None:
    """The Python twin of `domain_key_sql`."""
    if text is None:
        return None
    key = _WHITESPACE.sub(" ", text).strip(" ").lower()
    return key or None
