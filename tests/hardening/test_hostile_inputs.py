"""A table of hostile requests, each with the status and error code it must get."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from schema.build import schema
from tests.graphql_client import TEST_JWT_SECRET, ApiClient, token_for
from tests.hardening.schema_walk import root_calls
from tests.hardening.support import codes

ACCOUNT = uuid.uuid4()
GOOD = token_for(ACCOUNT)
SQLISH = [
    "' OR '1'='1",
    "1; DROP TABLE trees; --",
    "00000000-0000-0000-0000-000000000000' UNION SELECT * FROM accounts --",
    "\\x00\u0000'); SELECT pg_sleep(10); --",
    "%' AND current_setting('app.current_account_id') IS NOT NULL --",
]


def _claims(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "account_id": str(ACCOUNT),
        "role": "team_admin",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def _tampered() -> str:
    header, _, signature = GOOD.split(".")
    forged = jwt.utils.base64url_encode(
        json.dumps(_claims(account_id=str(uuid.uuid4()), role="admin")).encode()
    ).decode()
    return f"{header}.{forged}.{signature}"


BAD_TOKENS = {
    "none algorithm": jwt.encode(_claims(), key="", algorithm="none"),
    "wrong key": jwt.encode(_claims(), "another-secret-0123456789-abcdefghij", algorithm="HS256"),
    "tampered claims": _tampered(),
    "far-future iat": jwt.encode(
        _claims(iat=int((datetime.now(UTC) + timedelta(days=365)).timestamp())),
        TEST_JWT_SECRET,
        algorithm="HS256",
    ),
    "missing account": jwt.encode(_claims(account_id=None), TEST_JWT_SECRET, algorithm="HS256"),
    "account not a uuid": jwt.encode(_claims(account_id="1 OR 1=1"), TEST_JWT_SECRET, "HS256"),
    "expired": jwt.encode(_claims(exp=1), TEST_JWT_SECRET, algorithm="HS256"),
    "unknown role": jwt.encode(_claims(role="root"), TEST_JWT_SECRET, algorithm="HS256"),
    "garbage": "not.a.jwt",
    "HS512 instead of HS256": jwt.encode(_claims(), TEST_JWT_SECRET, algorithm="HS512"),
}


def _fragments(depth: int) -> str:
    parts = [
        f"fragment F{i} on Domain {{ flows {{ domain {{ ...F{i + 1} }} }} }}" for i in range(depth)
    ]
    parts.append(f"fragment F{depth} on Domain {{ name }}")
    return "{ coverage { domains { ...F0 } } } " + " ".join(parts)


GRAPHQL_CASES: dict[str, tuple[str, dict[str, Any] | None, set[str]]] = {
    "deeply nested fragments": (_fragments(30), None, {"QUERY_TOO_COMPLEX"}),
    "cyclic fragments": (
        "{ coverage { domains { ...A } } } fragment A on Domain { flows { domain { ...B } } }"
        " fragment B on Domain { flows { domain { ...A } } }",
        None,
        {"GRAPHQL_VALIDATION_FAILED"},
    ),
    "alias flood": (
        "{ "
        + " ".join(f'a{i}: flow(id: "{uuid.uuid4()}") {{ flow {{ id }} }}' for i in range(500))
        + " }",
        None,
        {"QUERY_TOO_COMPLEX"},
    ),
    "field alias flood on one field": (
        "{ overview { " + " ".join(f"s{i}: sessionCount" for i in range(200)) + " } }",
        None,
        {"QUERY_TOO_COMPLEX"},
    ),
    "huge first": (
        "{ flowQuality { flows(first: 1000000) { flow { id } } } }",
        None,
        {"QUERY_TOO_COMPLEX"},
    ),
    "huge first by variable": (
        "query($n: Int) { flowQuality { flows(first: $n) { flow { id name } } } }",
        {"n": 2_000_000_000},
        {"QUERY_TOO_COMPLEX"},
    ),
    "first beyond Int": (
        "{ flowQuality { flows(first: 99999999999) { flow { id } } } }",
        None,
        {"GRAPHQL_VALIDATION_FAILED"},
    ),
    "first beyond Int by variable": (
        "query($n: Int) { flowQuality { flows(first: $n) { flow { id } } } }",
        {"n": 99999999999},
        {"QUERY_TOO_COMPLEX"},
    ),
    "negative first": (
        "{ flowQuality { flows(first: -1) { flow { id } } } }",
        None,
        {"BAD_USER_INPUT"},
    ),
    "unknown enum value": (
        "{ overview(period: LAST_9999_DAYS) { sessionCount } }",
        None,
        {"GRAPHQL_VALIDATION_FAILED"},
    ),
    "unknown enum value by variable": (
        "query($p: Period!) { overview(period: $p) { sessionCount } }",
        {"p": "LAST_9999_DAYS"},
        {"BAD_USER_INPUT"},
    ),
    "syntax error": ("{ overview { sessionCount ", None, {"GRAPHQL_PARSE_FAILED"}),
    "token flood": ("{ overview { " + "__typename " * 5000 + "} }", None, {"QUERY_TOO_COMPLEX"}),
    "unknown field": ("{ accounts { id } }", None, {"GRAPHQL_VALIDATION_FAILED"}),
    "variables of the wrong shape": (
        "query($p: Period!) { overview(period: $p) { sessionCount } }",
        {"p": {"$ne": 1}},
        {"BAD_USER_INPUT"},
    ),
    "subscription": (
        "subscription { overview { sessionCount } }",
        None,
        {"GRAPHQL_VALIDATION_FAILED"},
    ),
}


@pytest.mark.parametrize("case", sorted(GRAPHQL_CASES))
async def test_hostile_query(role_api: ApiClient, case: str) -> None:
    query, variables, expected = GRAPHQL_CASES[case]
    response = await role_api.post(query, variables, token=GOOD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(codes(body)) == expected, body
    assert body.get("data") is None or all(v is None for v in body["data"].values())


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
async def test_malformed_tokens_are_unauthenticated(role_api: ApiClient, case: str) -> None:
    body = await role_api.execute("{ overview { sessionCount } }", token=BAD_TOKENS[case])
    assert codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] is None


async def _chunks(size: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < size:
        yield b" " * 8192
        sent += 8192


HTTP_CASES: dict[str, tuple[dict[str, Any], int, str]] = {
    "oversized body": (
        {"content": json.dumps({"query": "{ overview { sessionCount } }", "pad": "x" * 70000})},
        413,
        "PAYLOAD_TOO_LARGE",
    ),
    "oversized chunked body": ({"content": _chunks(200_000)}, 413, "PAYLOAD_TOO_LARGE"),
    "invalid UTF-8": (
        {"content": b'{"query": "{ overview \xff\xfe { sessionCount } }"}'},
        400,
        "BAD_REQUEST",
    ),
    "not JSON": ({"content": b"query { overview { sessionCount } }"}, 400, "BAD_REQUEST"),
    "JSON but not an object": ({"content": b'"{ overview { sessionCount } }"'}, 400, "BAD_REQUEST"),
    "batch": (
        {"content": json.dumps([{"query": "{ overview { sessionCount } }"}] * 2)},
        400,
        "BAD_REQUEST",
    ),
    "query not a string": ({"content": json.dumps({"query": 1})}, 400, "BAD_REQUEST"),
    "no query": ({"content": json.dumps({"variables": {}})}, 400, "BAD_REQUEST"),
}


@pytest.mark.parametrize("case", sorted(HTTP_CASES))
async def test_hostile_http_body(role_api: ApiClient, case: str) -> None:
    options, status, code = HTTP_CASES[case]
    if case == "oversized chunked body":
        options = {"content": _chunks(200_000)}  # a fresh generator per run
    response = await role_api.http.post(
        "/graphql",
        headers={"Authorization": f"Bearer {GOOD}", "Content-Type": "application/json"},
        **options,
    )
    assert response.status_code == status, response.text
    assert codes(response.json()) == [code]


async def test_query_over_get_is_refused(role_api: ApiClient) -> None:
    response = await role_api.http.get(
        "/graphql",
        params={"query": "{ overview { sessionCount } }"},
        headers={"Authorization": f"Bearer {GOOD}"},
    )
    assert response.status_code in {400, 405}
    assert codes(response.json()) in (["BAD_REQUEST"], ["METHOD_NOT_ALLOWED"])


ALIAS_MUTATIONS = {
    "mutation.addDomainAlias",
    "mutation.removeDomainAlias",
    "mutation.dismissDomainAliasSuggestion",
}


@pytest.mark.parametrize("text", SQLISH)
async def test_sql_ish_strings_in_every_text_argument(role_api: ApiClient, text: str) -> None:
    admin = token_for(ACCOUNT, "admin")
    for name, (document, variables) in root_calls(schema._schema, text).items():
        response = await role_api.post(document, variables, token=admin)
        assert response.status_code == 200, (name, response.text)
        body = response.json()
        found = codes(body)
        assert "INTERNAL" not in found, (name, body)
        if name in ALIAS_MUTATIONS:  # the same text twice: one key, no such alias, or a NUL
            assert found in (["ALIAS_OF_ITSELF"], ["NOT_FOUND"], ["BAD_USER_INPUT"]), (name, body)
        elif name in {"query.flow"} or (
            name.startswith("mutation.") and name != "mutation.savePsaConnection"
        ):
            assert found == ["BAD_USER_INPUT"], (name, body)  # ids are not UUIDs
        assert "syntax error" not in json.dumps(body).lower()
