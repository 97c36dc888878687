"""The lean executor and graphql-core's own answer every request alike, on seeded data.

Every first-party document (queries/) and a generated set of selections over the real
schema (fragments, aliases, @skip/@include, __typename, nulls, errors, comparisons, custom
ranges, the flow lists' arguments) run through both schemas (LEAN_EXECUTION on and off) at
the same instant, as the same caller, and must give the same data, errors and extensions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import strawberry
from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    get_named_type,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.auth import Principal
from queries import operation_documents
from resolvers.context import RequestContext
from schema.build import build_schema_for
from schema.lean_execution import LeanExecutionContext
from tests.factories import AccountBuilder
from tests.graphql_client import settings_for_tests

# One instant for the seeding and every request, so both executors see the same windows.
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
TODAY = NOW.date()
EXAMPLES = 150


@dataclass
class Seeded:
    """An account with flows, sessions and PSA activity, and its twin for the mutation."""

    account: AccountBuilder
    flows: list[uuid.UUID]
    twin: AccountBuilder
    twin_flows: list[uuid.UUID]
    twin_sessions: list[uuid.UUID] = field(default_factory=list)
    sessions: list[uuid.UUID] = field(default_factory=list)


async def _seed(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> tuple[AccountBuilder, list[uuid.UUID], list[uuid.UUID]]:
    """Sessions in every window (2, 20 and 60 days ago, and 100 days ago: outside all),
    resolved and not, with and without a domain, tier, flow, rating or ticket; a flow
    never matched (stale), one below half success, one draft; notes and time entries."""
    account = await AccountBuilder.create(sessionmaker, timezone="America/New_York")
    unlock = await account.flow("Unlock account", "Identity", last_matched_at=NOW, usage_count=3)
    printer = await account.flow("Printer queue", "Printing", usage_count=1, success_rate=0.25)
    stale = await account.flow("Old VPN", "Network", last_matched_at=NOW - timedelta(days=40))
    await account.flow("Draft", "Identity", status="draft")
    sessions = []
    for days, domain, status, tier, flow, confidence, rating in (
        (2, "Identity", "resolved", "guided", unlock, 0.9, 5),
        (2, "Identity", "escalated", "exploring", unlock, 0.6, None),
        (20, "Printing", "resolved", "discovery", printer, 0.3, 1),
        (20, "Printing", "abandoned", None, printer, None, None),
        (60, "Network", "resolved", "guided", stale, 0.85, 4),
        (60, None, "active", None, None, None, None),
        (100, "Identity", "resolved", "guided", unlock, 0.95, 5),
    ):
        started = NOW - timedelta(days=days, hours=3)
        resolved = started + timedelta(minutes=17 + days) if status == "resolved" else None
        session = await account.session(
            started,
            domain=domain,
            status=status,
            tier=tier,
            flow_id=flow,
            confidence=confidence,
            resolved_at=resolved,
            rating=rating,
            ticket=f"T{days}" if status != "active" else None,
        )
        sessions.append(session)
    await account.activity("note_posted", NOW - timedelta(days=2), session_id=sessions[0])
    await account.activity(
        "time_entry_posted", NOW - timedelta(days=2), session_id=sessions[0], hours=1.25
    )
    await account.activity(
        "time_entry_posted", NOW - timedelta(days=20), session_id=sessions[2], hours=0.5
    )
    await account.activity("status_updated", NOW - timedelta(days=60), session_id=sessions[4])
    return account, [unlock, printer, stale], sessions


@pytest.fixture(scope="module")
async def seeded(writer_sessionmaker: async_sessionmaker[AsyncSession]) -> Seeded:
    """Written as the product's writers; the requests read as the API's role."""
    account, flows, sessions = await _seed(writer_sessionmaker)
    twin, twin_flows, twin_sessions = await _seed(writer_sessionmaker)
    return Seeded(account, flows, twin, twin_flows, twin_sessions, sessions)


@pytest.fixture(scope="module")
def schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    """(lean, generic): the served schema with LEAN_EXECUTION on and off."""
    settings = settings_for_tests("postgresql://unused/unused")
    lean = build_schema_for(settings)
    generic = build_schema_for(
        settings_for_tests("postgresql://unused/unused", lean_execution=False)
    )
    assert lean.execution_context_class is LeanExecutionContext
    assert generic.execution_context_class is not LeanExecutionContext
    return lean, generic


async def _answer(
    schema: strawberry.Schema,
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: uuid.UUID,
    query: str,
    variables: dict[str, Any] | None,
    role: str = "team_admin",
) -> dict[str, Any]:
    context = RequestContext(
        settings=settings_for_tests("postgresql://unused/unused"),
        sessionmaker=sessionmaker,
        read_sessionmaker=sessionmaker,
        principal=Principal(user_id=None, account_id=account_id, role=role),
        now=NOW,
    )
    try:
        result = await schema.execute(query, variable_values=variables, context_value=context)
    finally:
        await context.close()
    return {
        "data": result.data,
        "errors": [error.formatted for error in result.errors or ()],
        "extensions": result.extensions,
    }


async def _agree(
    schemas: tuple[strawberry.Schema, strawberry.Schema],
    sessionmaker: async_sessionmaker[AsyncSession],
    account_id: uuid.UUID,
    query: str,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    lean, generic = schemas
    answer = await _answer(lean, sessionmaker, account_id, query, variables)
    assert answer == await _answer(generic, sessionmaker, account_id, query, variables), query
    return answer


FIRST_PARTY_QUERIES = {
    name: text for name, text in operation_documents().items() if "mutation" not in text
}
COMPARISONS = [
    {"period": "LAST_7_DAYS"},
    {"period": "LAST_30_DAYS", "compareTo": "PREVIOUS_PERIOD"},
    {"period": "LAST_90_DAYS", "compareTo": "PREVIOUS_PERIOD"},
    {"range": {"from": str(TODAY - timedelta(days=65)), "to": str(TODAY)}},
    {"range": {"from": str(TODAY), "to": str(TODAY - timedelta(days=3))}},  # an error
]


@pytest.mark.parametrize("variables", COMPARISONS, ids=lambda v: "-".join(map(str, v.values())))
@pytest.mark.parametrize("name", sorted(FIRST_PARTY_QUERIES))
async def test_every_first_party_query_answers_alike(
    schemas: tuple[strawberry.Schema, strawberry.Schema],
    role_sessionmaker: async_sessionmaker[AsyncSession],
    seeded: Seeded,
    name: str,
    variables: dict[str, Any],
) -> None:
    answer = await _agree(
        schemas, role_sessionmaker, seeded.account.account_id, FIRST_PARTY_QUERIES[name], variables
    )
    if "range" in variables and variables["range"]["from"] > variables["range"]["to"]:
        assert answer["data"] is None
        assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    else:
        assert answer["errors"] == []
        assert next(iter(answer["data"].values())) is not None


async def test_the_first_party_mutation_answers_alike(
    schemas: tuple[strawberry.Schema, strawberry.Schema],
    role_sessionmaker: async_sessionmaker[AsyncSession],
    seeded: Seeded,
) -> None:
    """Two identical accounts, one match each (a write runs once): the same answer, the
    ids of the one account read as the other's."""
    query = operation_documents()["record-flow-match.graphql"]
    lean, generic = schemas
    answers = []
    for schema, account, flows, sessions in (
        (lean, seeded.account, seeded.flows, seeded.sessions),
        (generic, seeded.twin, seeded.twin_flows, seeded.twin_sessions),
    ):
        variables = {
            "input": {"sessionId": str(sessions[5]), "flowId": str(flows[2]), "confidence": 0.7}
        }
        answer = await _answer(
            schema, role_sessionmaker, account.account_id, query, variables, role="service"
        )
        text = repr(answer)
        for mine, label in ((sessions[5], "SESSION"), (flows[2], "FLOW")):
            text = text.replace(str(mine), label)
        answers.append(text)
    assert answers[0] == answers[1]
    assert "'counted': True" in answers[0] and "'errors': []" in answers[0]


# --- generated selections -------------------------------------------------------------

ROOTS = ("overview", "coverage", "flowQuality", "psaActivity", "flow")
_LEAF_ARGUMENTS = {"first": st.sampled_from([0, 1, 2, 50]), "offset": st.sampled_from([0, 1, 5])}


def _unwrap(type_: GraphQLOutputType) -> GraphQLOutputType:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


@dataclass
class _Document:
    fragments: list[str] = field(default_factory=list)
    names: int = 0

    def name(self, prefix: str) -> str:
        self.names += 1
        return f"{prefix}{self.names}"


def _selection(draw: st.DrawFn, document: _Document, parent: GraphQLObjectType, depth: int) -> str:
    """A non-empty selection of `parent`'s fields, each perhaps aliased, given arguments,
    put in an inline or named fragment, or under @skip/@include."""
    fields: dict[str, GraphQLField] = {
        name: definition
        for name, definition in parent.fields.items()
        if all(
            not isinstance(arg.type, GraphQLNonNull) or arg.default_value is not None
            for arg in definition.args.values()
        )
        and (depth < 3 or not isinstance(_unwrap(definition.type), GraphQLObjectType))
    }
    if not fields:
        return "__typename"
    chosen = draw(
        st.lists(
            st.sampled_from(sorted(fields)), min_size=1, max_size=min(5, len(fields)), unique=True
        )
    )
    items = []
    for name in chosen:
        definition = fields[name]
        text = name
        if draw(st.booleans()):
            text = f"{document.name('a')}: {name}"
        arguments = [
            f"{arg}: {draw(_LEAF_ARGUMENTS[arg])}"
            for arg in definition.args
            if arg in _LEAF_ARGUMENTS and draw(st.booleans())
        ]
        if arguments:
            text += f"({', '.join(arguments)})"
        named = _unwrap(definition.type)
        below = ""
        if isinstance(named, GraphQLObjectType):
            below = f" {{ {_selection(draw, document, named, depth + 1)} }}"
        items.append(_wrapped(draw, document, parent, text, below))
    if draw(st.integers(0, 4)) == 0:
        items.append("__typename")
    return " ".join(items)


def _wrapped(
    draw: st.DrawFn, document: _Document, parent: GraphQLObjectType, head: str, below: str
) -> str:
    """The field `head` (alias, name, arguments) with its sub-selection `below`, as is,
    in a fragment, or with a directive (which goes between the two)."""
    item = head + below
    how = draw(
        st.sampled_from(
            ["plain", "plain", "on", "fragment", "include", "skip", "skipped", "excluded", "block"]
        )
    )
    if how == "on":
        return f"... on {parent.name} {{ {item} }}"
    if how == "fragment":
        name = document.name("F")
        document.fragments.append(f"fragment {name} on {parent.name} {{ {item} }}")
        return f"...{name}"
    if how == "include":
        return f"{head} @include(if: $yes){below}"
    if how == "skip":
        return f"{head} @skip(if: $no){below}"
    if how == "skipped":
        return f"{head} @skip(if: $yes){below}"
    if how == "excluded":
        return f"{head} @include(if: $no){below}"
    if how == "block":
        return f"... @include(if: $yes) {{ {item} }}"
    return item


@st.composite
def _documents(
    draw: st.DrawFn, query_type: GraphQLObjectType, flow_ids: list[str]
) -> tuple[str, dict[str, Any]]:
    """(document, variables): one root field with drawn arguments and selection."""
    root = draw(st.sampled_from(ROOTS))
    definition = query_type.fields[root]
    arguments: list[str] = []
    if root == "flow":
        arguments.append(
            f'id: "{draw(st.sampled_from([*flow_ids, str(uuid.UUID(int=7)), "nope"]))}"'
        )
    else:
        window = draw(st.sampled_from(["period", "range", "bad range", "long range", "none"]))
        if window == "period":
            arguments.append(
                f"period: {draw(st.sampled_from(['LAST_7_DAYS', 'LAST_30_DAYS', 'LAST_90_DAYS']))}"
            )
        elif window == "range":
            start = draw(st.integers(0, 120))
            length = draw(st.integers(0, 45))
            first, last = (
                TODAY - timedelta(days=start),
                TODAY - timedelta(days=max(start - length, 0)),
            )
            arguments.append(f'range: {{from: "{first}", to: "{last}"}}')
        elif window == "bad range":
            arguments.append(f'range: {{from: "{TODAY}", to: "{TODAY - timedelta(days=1)}"}}')
        elif window == "long range":
            arguments.append(f'range: {{from: "{TODAY - timedelta(days=400)}", to: "{TODAY}"}}')
        if draw(st.booleans()):
            arguments.append("compareTo: PREVIOUS_PERIOD")
        if root == "flowQuality":
            arguments.append(f"sort: {draw(st.sampled_from(['QUALITY', 'USAGE', 'SUCCESS_RATE']))}")
            arguments.append(f"direction: {draw(st.sampled_from(['ASC', 'DESC']))}")
    document = _Document()
    named = get_named_type(definition.type)
    assert isinstance(named, GraphQLObjectType)
    body = _selection(draw, document, named, 1)
    call = f"{root}({', '.join(arguments)})" if arguments else root
    text = (
        "query Generated($yes: Boolean! = true, $no: Boolean! = false) { "
        f"__typename @include(if: $yes) @skip(if: $no) {call} {{ {body} }} }}"
    )
    return "\n".join([text, *document.fragments]), {}


def _generated(
    query_type: GraphQLObjectType, flow_ids: list[str]
) -> list[tuple[str, dict[str, Any]]]:
    """The generated documents: drawn by hypothesis up front (derandomized, so every run
    checks the same set), then run on the test's event loop."""
    cases: list[tuple[str, dict[str, Any]]] = []

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None)
    @given(_documents(query_type, flow_ids))
    def collect(case: tuple[str, dict[str, Any]]) -> None:
        cases.append(case)

    collect()
    return cases


async def test_generated_selections_answer_alike(
    schemas: tuple[strawberry.Schema, strawberry.Schema],
    role_sessionmaker: async_sessionmaker[AsyncSession],
    seeded: Seeded,
) -> None:
    query_type = schemas[0]._schema.query_type
    assert query_type is not None
    cases = _generated(query_type, [str(flow) for flow in seeded.flows])
    outcomes = {"answered": 0, "partial": 0, "refused": 0}
    for query, variables in cases:
        answer = await _agree(
            schemas, role_sessionmaker, seeded.account.account_id, query, variables
        )
        if answer["data"] is None:
            outcomes["refused"] += 1
        elif answer["errors"]:
            outcomes["partial"] += 1
        else:
            outcomes["answered"] += 1
    print(f"{len(cases)} generated documents: {outcomes}")
    # The set reaches answers, answers with errors beside data, and refusals.
    assert outcomes["answered"] > len(cases) // 2
    assert outcomes["partial"] > 0 and outcomes["refused"] > 0
