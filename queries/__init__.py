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
# The evidence lists behind the tabs' counts, exported as the tabs are. The sessions' export
# document takes the filter's parts as plain variables (query parameters); it lives in
# export/, apart from the first-party operations, which send the filter as one object.
EVIDENCE_DOCUMENTS = {
    "session-evidence": "export/session-evidence.graphql",
    "psa-evidence": "psa-evidence.graphql",
}
# What the insights page sends besides the tabs: the evidence lists behind its counts, and
# a team lead's domain aliases (the list with suggestions, add, remove).
PAGE_DOCUMENTS = (
    "session-evidence.graphql",
    "psa-evidence.graphql",
    "domain-aliases.graphql",
    "add-domain-alias.graphql",
    "remove-domain-alias.graphql",
)


def tab_query(tab: str) -> str:
    """The text of the query the named tab (or evidence list) issues."""
    name = TAB_DOCUMENTS.get(tab) or EVIDENCE_DOCUMENTS[tab]
    return (QUERIES_DIR / name).read_text(encoding="utf-8")


def query_document(name: str) -> str:
    """The text of one first-party document of this folder, by file name."""
    return (QUERIES_DIR / name).read_text(encoding="utf-8")


def operation_documents() -> dict[str, str]:
    """Every first-party document (tabs and mutations) by file name, in name order."""
    return {
        path.name: path.read_text(encoding="utf-8")
        for path in sorted(QUERIES_DIR.glob("*.graphql"))
    }
