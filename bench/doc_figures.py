"""`python -m bench.doc_figures [--write]`: the figures the docs quote that the code decides
(the tab documents' costs, the newest migration), computed rather than typed by hand.

Without `--write` it prints each quoted figure and exits 1 when a doc differs from the code;
with `--write` it updates the docs. A test runs the check, so a change that moves a figure
fails until the docs follow.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from graphql import parse

from persistence.operations.migrate import head_revision
from queries import tab_query
from schema.build import schema
from schema.limits.cost import operation_cost

ROOT = Path(__file__).resolve().parent.parent
TAB_NAMES = {"overview": "Overview", "coverage": "Coverage", "flow-quality": "Flow Quality"}


def tab_cost(tab: str) -> int:
    """The cost the server reports in `extensions.cost` for the tab's document, as sent."""
    return operation_cost(schema._schema, parse(tab_query(tab)).definitions, None, {})


def costs_sentence() -> str:
    return (
        f"The tab documents cost: Overview {tab_cost('overview')}, "
        f"Coverage {tab_cost('coverage')}, Flow Quality {tab_cost('flow-quality')} (50 rows), "
        f"PSA {tab_cost('psa')}."
    )


def schema_error_example() -> str:
    return f"expected {head_revision()}"


@dataclass(frozen=True)
class Figure:
    """A span of a doc (found by `pattern`, which may wrap lines) and what it must say."""

    doc: str
    pattern: re.Pattern[str]
    text: Callable[[], str]


FIGURES = (
    Figure(
        "docs/operations.md",
        re.compile(
            r"The\s+tab\s+documents\s+cost:\s+Overview\s+\d+,\s+Coverage\s+\d+,\s+"
            r"Flow\s+Quality\s+\d+\s+\(50\s+rows\),\s+PSA\s+\d+\."
        ),
        costs_sentence,
    ),
    Figure(
        "docs/command-line.md",
        re.compile(r"(?<=schema is at 0001_baseline,\n)expected \w+"),
        schema_error_example,
    ),
)


def updated(text: str, figure: Figure) -> str:
    """`text` with the figure's span replaced by what the code says (unchanged if current)."""
    found = figure.pattern.findall(text)
    if len(found) != 1:
        raise LookupError(f"{figure.doc}: expected one quoted figure, found {len(found)}")
    return figure.pattern.sub(figure.text(), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.doc_figures", description=__doc__)
    parser.add_argument("--write", action="store_true", help="update the docs")
    args = parser.parse_args(argv)
    stale = []
    for figure in FIGURES:
        path = ROOT / figure.doc
        text = path.read_text(encoding="utf-8")
        try:
            new = updated(text, figure)
        except LookupError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"{figure.doc}: {figure.text()}")
        if new != text:
            if args.write:
                path.write_text(new, encoding="utf-8")
            else:
                stale.append(figure.doc)
    if stale:
        print(f"error: stale figures in {', '.join(stale)}: run with --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
