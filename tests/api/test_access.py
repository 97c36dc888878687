"""Authentication and roles over every root field; deny by default."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import strawberry
from graphql import GraphQLObjectType

from core.auth import Principal
from core.settings import Settings
from resolvers.context import RequestContext
from schema.access import RequireRoles, guard_root_fields
from schema.build import schema
from tests.graphql_client import TEST_JWT_SECRET, ApiClient, token_for

ROOT_QUERIES = {
    "overview": "{ overview { sessionCount } }",
    "coverage": "{ coverage { totalDomains } }",
    "flowQuality": "{ flowQuality { flows { flow { id } } } }",
    "psaActivity": "{ psaActivity { totalTimeEntries } }",
    "flow": '{ flow(id: "00000000-0000-0000-0000-000000000000") { flow { id } } }',
    "sessionEvidence": "{ sessionEvidence { totalCount } }",
    "psaActivityEvidence": "{ psaActivityEvidence { totalCount } }",
    "domainAliases": "{ domainAliases { key } }",
    "domainAliasSuggestions": "{ domainAliasSuggestions { key } }",
}


def test_every_root_field_has_a_query_in_this_matrix() -> None:
    query_type = schema._schema.query_type
    assert isinstance(query_type, GraphQLObjectType)
    assert set(query_type.fields) == set(ROOT_QUERIES)


def _codes(body: dict[str, object]) -> list[str]:
    errors = body.get("errors")
    assert isinstance(errors, list)
    return [error["extensions"]["code"] for error in errors]


def _token(claims: dict[str, object], secret: str = TEST_JWT_SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=alg)


def _claims(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": str(uuid.uuid4()),
        "account_id": str(uuid.uuid4()),
        "role": "team_admin",
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


@pytest.mark.parametrize("field", sorted(ROOT_QUERIES))
async def test_no_token_is_unauthenticated(api: ApiClient, field: str) -> None:
    body = await api.execute(ROOT_QUERIES[field])
    assert _codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] is None or body["data"] == {field: None}


BAD_TOKENS: dict[str, Callable[[], str]] = {
    "garbage": lambda: "not-a-jwt",
    "wrong key": lambda: _token(_claims(), secret="another-secret-another-secret-xx"),
    "expired": lambda: _token(_claims(exp=int(datetime.now(UTC).timestamp()) - 600)),  # > skew
    "no account": lambda: _token(_claims(account_id=None)),
    "account not a uuid": lambda: _token(_claims(account_id="acme")),
    "unknown role": lambda: _token(_claims(role="root")),
    "issued in the future": lambda: _token(
        _claims(iat=int((datetime.now(UTC) + timedelta(days=3)).timestamp()))
    ),
    "alg none": lambda: jwt.encode(_claims(), "", algorithm="none"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
async def test_bad_tokens_are_unauthenticated(api: ApiClient, case: str) -> None:
    response = await api.post(ROOT_QUERIES["coverage"], token=BAD_TOKENS[case]())
    body = response.json()
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert _codes(body) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("field", sorted(ROOT_QUERIES))
@pytest.mark.parametrize("role", ["engineer", "service"])
async def test_other_roles_are_forbidden(api: ApiClient, field: str, role: str) -> None:
    body = await api.execute(ROOT_QUERIES[field], token=token_for(uuid.uuid4(), role))
    assert _codes(body) == ["FORBIDDEN"]


@pytest.mark.parametrize("field", sorted(ROOT_QUERIES))
@pytest.mark.parametrize("role", ["team_admin", "admin"])
async def test_team_admins_and_admins_are_allowed(api: ApiClient, field: str, role: str) -> None:
    body = await api.execute(ROOT_QUERIES[field], token=token_for(uuid.uuid4(), role))
    assert "errors" not in body, body


def test_a_root_field_added_without_a_check_is_still_closed() -> None:
    @strawberry.type
    class LaterQuery:
        @strawberry.field
        def secret(self) -> int:
            return 42

    guard_root_fields(LaterQuery)
    later = strawberry.Schema(query=LaterQuery)
    anonymous = RequestContext(
        settings=Settings(),
        sessionmaker=None,  # type: ignore[arg-type]
        read_sessionmaker=None,  # type: ignore[arg-type]
        principal=None,
    )
    engineer = RequestContext(
        settings=Settings(),
        sessionmaker=None,  # type: ignore[arg-type]
        read_sessionmaker=None,  # type: ignore[arg-type]
        principal=Principal(user_id=None, account_id=uuid.uuid4(), role="engineer"),
    )
    denied = later.execute_sync("{ secret }", context_value=anonymous)
    forbidden = later.execute_sync("{ secret }", context_value=engineer)
    assert denied.errors is not None
    assert denied.errors[0].extensions == {"code": "UNAUTHENTICATED"}
    assert forbidden.errors is not None
    assert forbidden.errors[0].extensions == {"code": "FORBIDDEN"}


def test_every_served_root_field_carries_the_role_check() -> None:
    from schema.query import Query

    fields = Query.__strawberry_definition__.fields  # type: ignore[attr-defined]
    assert fields
    for field in fields:
        assert any(isinstance(extension, RequireRoles) for extension in field.extensions)
