"""GraphQL Code Generator against the served schema: its operation types for queries/
compile with `tsc --strict`, and its client preset's persisted documents map is a
safelist the service accepts."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from queries import QUERIES_DIR
from schema.export import SDL_PATH
from service.pipeline.pq_manifests import load_manifests
from tests.clients.node_project import require_node, run_node_tests
from tests.graphql_client import running_app, settings_for_tests, token_for

ACCOUNT = uuid.UUID("00000000-0000-4000-8000-00000000c0de")


async def test_codegen_types_compile_and_its_persisted_documents_run(
    database_url: str, tmp_path: Path
) -> None:
    node = require_node()
    code, output = await run_node_tests(
        node,
        "codegen.test.mjs",
        {
            "FLOWPILOT_SCHEMA": str(SDL_PATH),
            "FLOWPILOT_QUERIES_DIR": str(QUERIES_DIR),
            "FLOWPILOT_CODEGEN_OUT": str(tmp_path),
        },
    )
    print(output)
    assert code == 0, output
    assert "ℹ pass 2" in output and "ℹ fail 0" in output, output

    documents_map = tmp_path / "persisted-documents.json"
    hashes = list(json.loads(documents_map.read_text(encoding="utf-8")))
    assert len(load_manifests([str(documents_map)])) >= len(hashes) == 11
    settings = settings_for_tests(
        database_url,
        persisted_queries_safelist=True,
        persisted_queries_manifests=(str(documents_map),),
    )
    async with running_app(settings) as client:
        for document_hash in hashes:  # sent as the client preset's hash, prefix and all
            body = {
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_hash}},
                "variables": {"period": "LAST_7_DAYS"},
            }
            response = await client.http.post(
                "/graphql", json=body, headers={"Authorization": f"Bearer {token_for(ACCOUNT)}"}
            )
            codes = [e["extensions"]["code"] for e in response.json().get("errors", [])]
            # Every document is accepted; only the mutations lack their (required) input.
            assert "PERSISTED_QUERY_NOT_ALLOWED" not in codes, codes
            assert set(codes) <= {"BAD_USER_INPUT"}, response.text
