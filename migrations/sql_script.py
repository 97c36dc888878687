"""Run a migration's `.sql` file: its statements one at a time, in the revision's transaction.

The driver takes one statement per call, so the file is split at each `;` that stands
outside a quoted string, a dollar-quoted body (`$fn$ … $fn$`) or a `--` comment;
comments outside the statements are dropped.
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic import op

_TOKEN = re.compile(
    r"(?P<dollar>\$(?P<tag>\w*)\$.*?\$(?P=tag)\$)"
    r"|(?P<quoted>'(?:[^']|'')*')"
    r"|(?P<comment>--[^\n]*)"
    r"|(?P<end>;)",
    re.DOTALL,
)


def statements(script: str) -> list[str]:
    """The statements of `script`, without their final `;` and the comments between them."""
    found: list[str] = []
    current: list[str] = []
    position = 0
    for token in _TOKEN.finditer(script):
        current.append(script[position : token.start()])
        position = token.end()
        if token["comment"] is not None:
            continue
        if token["end"] is not None:
            found.append("".join(current).strip())
            current = []
            continue
        current.append(token[0])
    current.append(script[position:])
    found.append("".join(current).strip())
    return [statement for statement in found if statement]


def execute_file(path: Path) -> None:
    """Execute every statement of the file at `path` on the migration's connection."""
    for statement in statements(path.read_text(encoding="utf-8")):
        op.execute(statement)
