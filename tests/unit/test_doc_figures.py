"""The figures the docs quote are the ones the code computes (`python -m bench.doc_figures`)."""

from __future__ import annotations

import re

import pytest

from bench.doc_figures import FIGURES, ROOT, costs_sentence, main, updated
from persistence.operations.migrate import head_revision


def test_docs_quote_the_current_figures() -> None:
    assert main([]) == 0


def test_a_stale_figure_is_found_across_a_line_break_and_replaced() -> None:
    costs = FIGURES[0]
    stale = (
        "cost`. The tab documents cost: Overview 1,\nCoverage 2, Flow Quality 3 (50 rows), PSA 4.\n"
    )
    assert updated(stale, costs) == f"cost`. {costs_sentence()}\n"
    assert re.fullmatch(
        r"The tab documents cost: Overview \d+, Coverage \d+, Flow Quality \d+ \(50 rows\), "
        r"PSA \d+\.",
        costs_sentence(),
    )

    schema_error = FIGURES[1]
    example = "schema is at 0001_baseline,\nexpected 0003_psa_write_paths: run"
    assert updated(example, schema_error) == (
        f"schema is at 0001_baseline,\nexpected {head_revision()}: run"
    )


def test_a_doc_without_the_figure_is_an_error() -> None:
    with pytest.raises(LookupError, match="found 0"):
        updated("no figures here", FIGURES[0])
    assert (ROOT / FIGURES[0].doc).exists()
