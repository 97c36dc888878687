"""Generated queries and mutations (valid and invalid) against the real app: never a 5xx,
never an unmasked error, every error with a code."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from schema.build import schema
from tests.graphql_client import ApiClient, token_for

EXAMPLES = {Mode.POSITIVE: 200, Mode.NEGATIVE: 100}
KNOWN_CODES = {
    "BAD_USER_INPUT",
    "ALIAS_OF_ITSELF",
    "ALIAS_CHAIN",
    "ALIAS_LIMIT",
    "UNKNOWN_DOMAIN",
    "NOT_FOUND",
    "FORBIDDEN",
    "UNAUTHENTICATED",
    "CONFLICT",
    "QUERY_TOO_COMPLEX",
    "RATE_LIMITED",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "INTROSPECTION_DISABLED",
    "SESSION_NOT_LINKED",
    "FLOW_ARCHIVED",
    "TIMEOUT",
}
SCALARS = {
    "Date": st.dates().map(lambda day: nodes.String(day.isoformat())),
    "DateTime": st.datetimes().map(lambda moment: nodes.String(moment.isoformat() + "+00:00")),
}


def _generate(mode: Mode, count: int) -> list[str]:
    documents: list[str] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(from_schema(schema._schema, custom_scalars=SCALARS, mode=mode))
    def collect(document: Any) -> None:
        documents.append(str(document))

    collect()
    return documents


async def _check(client: ApiClient, document: str, token: str) -> None:
    response = await client.post(document, token=token)
    assert response.status_code < 500, (document, response.text)
    body = response.json()
    for error in body.get("errors") or []:
        code = error.get("extensions", {}).get("code")
        assert code is not None, (document, body)
        assert code != "INTERNAL", (document, body)
        assert code in KNOWN_CODES or code.startswith("PSA_"), (document, body)
        assert "Traceback" not in error["message"] and "SELECT" not in error["message"]
    assert "sqlalchemy" not in json.dumps(body).lower()


async def test_generated_operations_never_fail_unmasked(role_api: ApiClient) -> None:
    token = token_for(uuid.uuid4(), "team_admin")
    total = 0
    for mode, count in EXAMPLES.items():
        for document in _generate(mode, count):
            await _check(role_api, document, token)
            total += 1
    assert total >= 300
