"""Introspection is never refused by the cost limit; the token and alias limits still apply."""

from __future__ import annotations

import uuid

import pytest
from graphql import get_introspection_query, parse

from schema.limits.introspection import is_introspection_operation
from tests.graphql_client import ApiClient, running_app, settings_for_tests, token_for

ACCOUNT = uuid.UUID("00000000-0000-4000-8000-0000000ab1e5")
INTROSPECTION_QUERIES = {
    # graphql-js's default, as most tools send it
    "default": get_introspection_query(),
    # GraphiQL 3 (schema description, deprecated input values)
    "graphiql": get_introspection_query(schema_description=True, input_value_deprecation=True),
    # GraphQL Code Generator / graphql-tools url-loader
    "codegen": get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    ),
    # every option, with the deeper type references of newer tools (refused before: 6,148)
    "everything, typeDepth 12": get_introspection_query(
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
        one_of=True,
        type_depth=12,
    ),
}


@pytest.mark.parametrize("name", sorted(INTROSPECTION_QUERIES))
async def test_tools_introspection_queries_answer(api: ApiClient, name: str) -> None:
    body = await api.execute(INTROSPECTION_QUERIES[name], token=token_for(ACCOUNT))
    assert "errors" not in body, body["errors"]
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_introspection_answers_under_any_cost_limit(database_url: str) -> None:
    settings = settings_for_tests(database_url, max_query_cost=10)
    async with running_app(settings) as client:
        body = await client.execute(
            INTROSPECTION_QUERIES["everything, typeDepth 12"], token=token_for(ACCOUNT)
        )
        assert "errors" not in body
        mixed = "{ __schema { types { name } } overview { domains { name } } }"
        refused = await client.execute(mixed, token=token_for(ACCOUNT))
    assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_the_token_limit_still_bounds_introspection(database_url: str) -> None:
    settings = settings_for_tests(database_url, max_query_tokens=50)
    async with running_app(settings) as client:
        body = await client.execute(INTROSPECTION_QUERIES["default"], token=token_for(ACCOUNT))
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


def test_only_introspection_operations_are_exempt() -> None:
    exempt = [
        "{ __typename }",
        'query { __type(name: "Query") { name } }',
        "query A { ...F } fragment F on Query { __schema { types { name } } }",
        "query A { overview { period } } query B { __schema { queryType { name } } }",
    ]
    names: list[str | None] = [None, None, None, "B"]
    for text, name in zip(exempt, names, strict=True):
        assert is_introspection_operation(parse(text), name), text
    costed = [
        ("{ __typename overview { period } }", None),
        ("query A { ...F } fragment F on Query { overview { period } }", None),
        ("query A { overview { period } } query B { __typename }", "A"),
        ("mutation { __typename }", None),
        ("query A { __typename } query B { __typename }", None),  # ambiguous
    ]
    for text, name in costed:
        assert not is_introspection_operation(parse(text), name), text


async def test_a_deeply_nested_introspection_is_still_refused(api: ApiClient) -> None:
    # Exempt from cost, so graphql's MaxIntrospectionDepthRule must stop the nesting that
    # would multiply the work (each `fields` level multiplies it by the fields of a type).
    nested = "fields { type { " * 4 + "name" + " } }" * 4
    for query in (
        "{ __schema { types { " + nested + " } } }",
        '{ __type(name: "Query") { ' + nested + " } }",
    ):
        body = await api.execute(query, token=token_for(ACCOUNT))
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", body
        assert "introspection depth" in body["errors"][0]["message"]
