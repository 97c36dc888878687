"""What a hostile document costs to parse: nothing without a token, the token limit with one.

Counting the tokens the lexer reads is the cost, without any timing: before the refusal
of anonymous callers, a 64 KB `{xq a a a ...}` was lexed to its end (about 32,000
tokens) by an unlimited parse that labelled metrics, before the token was checked.
"""

from __future__ import annotations

import gc
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from graphql.language.lexer import Lexer

from service.response_cache.key import DocumentFactsMemo
from tests.graphql_client import ApiClient, running_app, settings_for_tests, token_for
from tests.hardening.support import codes

MAX_TOKENS = 2000  # the test settings' QUERY_MAX_TOKENS (the default)
JUNK = "{xq " + "a " * 32_000 + "}"  # about 64 KB, under the request size limit


@pytest.fixture(scope="module")
async def cached_api(database_url: str) -> AsyncIterator[ApiClient]:
    """The app with its response cache on: the cache parses texts of its own."""
    async with running_app(settings_for_tests(database_url, response_cache=True)) as client:
        yield client


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


@pytest.mark.parametrize("operation_name", [None, "Anything"])
async def test_with_the_cache_on_a_document_is_parsed_only_up_to_the_token_limit(
    cached_api: ApiClient, lexed: list[int], operation_name: str | None
) -> None:
    """The cache's own parse (its key's normalized digest) keeps the token limit too: at
    most the cache's and strawberry's limited parses, not the text's 32,000 tokens."""
    body: dict[str, Any] = {"query": JUNK + f" # {uuid.uuid4()}"}
    if operation_name is not None:
        body["operationName"] = operation_name
    headers = {"Authorization": f"Bearer {token_for(uuid.uuid4(), role='engineer')}"}
    response = await cached_api.http.post("/graphql", json=body, headers=headers)
    assert codes(response.json()) == ["QUERY_TOO_COMPLEX"]
    assert 0 < lexed[0] <= 2 * (MAX_TOKENS + 2)


def test_the_cache_remembers_a_texts_facts_without_keeping_the_text() -> None:
    """2,048 remembered 64 KB texts would pin 130 MiB per worker: the memo keeps digests."""
    memo = DocumentFactsMemo(maxsize=200)
    texts = ["{ a " + "b " * 30_000 + f"}} # {n}" for n in range(100)]  # 60 KB each
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for text in texts:
            assert memo.facts(text, MAX_TOKENS) is None  # over the limit: no document
        gc.collect()  # a refused parse's error and traceback are garbage, not kept
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(memo) == 100
    assert kept < 200_000, kept  # the texts alone are 6 MB
    assert memo.facts(texts[0], MAX_TOKENS) is None
    assert memo.facts("{ a }", MAX_TOKENS) is not None
