"""What a hostile document costs to parse: nothing without a token, the token limit with one.

Counting the tokens the lexer reads is the cost, without any timing: before the refusal
of anonymous callers, a 64 KB `{xq a a a ...}` was lexed to its end (about 32,000
tokens) by an unlimited parse that labelled metrics, before the token was checked.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from graphql.language.lexer import Lexer

from tests.graphql_client import ApiClient, token_for
from tests.hardening.support import codes

MAX_TOKENS = 2000  # the test settings' QUERY_MAX_TOKENS (the default)
JUNK = "{xq " + "a " * 32_000 + "}"  # about 64 KB, under the request size limit


@pytest.fixture
def lexed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the tokens every parse in this process reads while the test runs."""
    count = [0]
    advance = Lexer.advance

    def counting(self: Lexer) -> Any:
        count[0] += 1
        return advance(self)

    monkeypatch.setattr(Lexer, "advance", counting)
    yield count


async def test_an_anonymous_document_is_refused_before_it_is_parsed(
    api: ApiClient, lexed: list[int]
) -> None:
    response = await api.http.post("/graphql", json={"query": JUNK})
    assert response.status_code == 401, response.text
    assert codes(response.json()) == ["UNAUTHENTICATED"]
    assert lexed[0] == 0


async def test_an_anonymous_persisted_query_is_refused_before_it_is_parsed(
    api: ApiClient, lexed: list[int]
) -> None:
    body = {"query": JUNK, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}}
    response = await api.http.post("/graphql", json=body, headers={"Authorization": "Bearer x"})
    assert codes(response.json()) == ["UNAUTHENTICATED"]
    assert lexed[0] == 0


@pytest.mark.parametrize("operation_name", [None, "Anything"])
async def test_an_authenticated_document_is_parsed_only_up_to_the_token_limit(
    api: ApiClient, lexed: list[int], operation_name: str | None
) -> None:
    body: dict[str, Any] = {"query": JUNK + f" # {uuid.uuid4()}"}  # a text no cache holds
    if operation_name is not None:
        body["operationName"] = operation_name
    headers = {"Authorization": f"Bearer {token_for(uuid.uuid4())}"}
    response = await api.http.post("/graphql", json=body, headers=headers)
    assert codes(response.json()) == ["QUERY_TOO_COMPLEX"]
    assert 0 < lexed[0] <= MAX_TOKENS + 2
