"""Validation runs once per distinct valid query text; invalid texts are never cached."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import schema.validation_cache as validation_cache
from core.auth import Principal
from core.settings import Settings
from resolvers.context import RequestContext
from schema.build import build_schema_for


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = validation_cache.validate_document  # type: ignore[attr-defined]

    def counting(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(validation_cache, "validate_document", counting)
    return calls


def _context() -> RequestContext:
    return RequestContext(
        settings=Settings(),
        sessionmaker=None,  # type: ignore[arg-type]
        read_sessionmaker=None,  # type: ignore[arg-type]
        principal=Principal(user_id=None, account_id=uuid.uuid4(), role="engineer"),
    )


async def test_a_valid_text_is_validated_once(validations: list[int]) -> None:
    schema = build_schema_for(Settings())
    for _ in range(3):
        result = await schema.execute("{ coverage { totalDomains } }", context_value=_context())
        assert result.errors is not None
        assert result.errors[0].extensions == {"code": "FORBIDDEN"}
    assert len(validations) == 1


async def test_an_invalid_text_is_validated_every_time(validations: list[int]) -> None:
    schema = build_schema_for(Settings())
    for _ in range(2):
        result = await schema.execute("{ coverage { nope } }", context_value=_context())
        assert result.errors is not None
        assert result.errors[0].extensions == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert len(validations) == 2


async def test_schemas_with_other_limits_do_not_share_entries(validations: list[int]) -> None:
    query = "{ coverage { domains { flows { domain { name } } } } }"
    lenient = build_schema_for(Settings())
    strict = build_schema_for(Settings(max_query_depth=2))
    lenient_errors = (await lenient.execute(query, context_value=_context())).errors
    assert lenient_errors is not None
    assert lenient_errors[0].extensions == {"code": "FORBIDDEN"}
    strict_errors = (await strict.execute(query, context_value=_context())).errors
    assert strict_errors is not None
    assert (strict_errors[0].extensions or {}).get("code") == "QUERY_TOO_COMPLEX"
    assert len(validations) == 2


async def test_a_cached_text_is_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import strawberry.schema.schema as strawberry_schema

    parses: list[int] = []
    real_parse = strawberry_schema.parse  # type: ignore[attr-defined]

    def counting_parse(*args: Any, **kwargs: Any) -> Any:
        parses.append(1)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "parse", counting_parse)
    schema = build_schema_for(Settings())
    for _ in range(3):
        result = await schema.execute(
            "{ psaActivity { totalTimeEntries } }", context_value=_context()
        )
        assert result.errors is not None
        assert result.errors[0].extensions == {"code": "FORBIDDEN"}
    assert len(parses) == 1
