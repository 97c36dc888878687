"""The first-party GraphQL operations: one document per analytics tab, and the mutations
other FlowPilot services send (every `*.graphql` file here is a first-party operation)."""

from __future__ import annotations

from pathlib import Path

QUERIES_DIR = Path(__file__).resolve().parent
TAB_DOCUMENTS = {
    "overview": "overview.graphql",
    "coverage": "coverage.graphql",
    "flow-quality": "flow-quality.graphql",
    "psa": "psa.graphql",
}


def tab_query(tab: str) -> str:
    """The text of the query the named tab issues."""
    return (QUERIES_DIR / TAB_DOCUMENTS[tab]).read_text(encoding="utf-8")


def operation_documents() -> dict[str, str]:
    """Every first-party document (tabs and mutations) by file name, in name order."""
    return {
        path.name: path.read_text(encoding="utf-8")
        for path in sorted(QUERIES_DIR.glob("*.graphql"))
    }
