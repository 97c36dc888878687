"""Apollo's manifest tool and a stock Apollo persisted-query link against safelist mode."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import text

from persistence.engine import create_engine
from persistence.operations.demo_seed import DEMO_ACCOUNT_ID
from queries import QUERIES_DIR, operation_documents
from service.pipeline.pq_manifests import generate_manifest
from tests.clients.live_server import live_server
from tests.clients.node_project import CLIENTS_DIR, require_node, run_node_tests
from tests.graphql_client import settings_for_tests, token_for


async def apollo_manifest(workdir: Path) -> Path:
    """The manifest `@apollo/generate-persisted-query-manifest` writes for queries/."""
    output = workdir / "persisted-query-manifest.json"
    config = workdir / "persisted-query-manifest.config.json"
    config.write_text(
        json.dumps({"documents": [f"{QUERIES_DIR}/*.graphql"], "output": str(output)}),
        encoding="utf-8",
    )
    tool = CLIENTS_DIR / "node_modules" / ".bin" / "generate-persisted-query-manifest"
    process = await asyncio.create_subprocess_exec(
        str(tool),
        "--config",
        str(config),
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()
    return output


async def a_session_and_flow(database_url: str) -> dict[str, str]:
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        # Already matched to that flow: recording it again changes nothing,
                        # so the shared demo data stays as the other client checks expect.
                        "SELECT s.id, s.matched_flow_id FROM ai_sessions s JOIN trees t"
                        " ON t.id = s.matched_flow_id WHERE s.account_id = :account"
                        " AND t.status <> 'archived' ORDER BY s.id LIMIT 1"
                    ),
                    {"account": DEMO_ACCOUNT_ID},
                )
            ).one()
    finally:
        await engine.dispose()
    return {"sessionId": str(row[0]), "flowId": str(row[1])}


async def test_apollo_persisted_query_link_against_the_safelist(
    demo_database_url: str, tmp_path: Path
) -> None:
    node = require_node()
    manifest = await apollo_manifest(tmp_path)
    # `python main.py persisted-query-manifest` writes exactly what Apollo's tool writes.
    assert json.loads(manifest.read_text()) == generate_manifest(operation_documents())
    settings = settings_for_tests(
        demo_database_url,
        rate_limit_cost_per_s=0,
        persisted_queries_safelist=True,
        persisted_queries_manifests=(str(manifest),),
    )
    async with live_server(settings) as base_url:
        code, output = await run_node_tests(
            node,
            "persisted-queries.test.mjs",
            {
                "FLOWPILOT_API_URL": f"{base_url}/graphql",
                "FLOWPILOT_TOKEN": token_for(DEMO_ACCOUNT_ID),
                "FLOWPILOT_SERVICE_TOKEN": token_for(DEMO_ACCOUNT_ID, "service"),
                "FLOWPILOT_MANIFEST": str(manifest),
                "FLOWPILOT_QUERIES_DIR": str(QUERIES_DIR),
                "FLOWPILOT_MATCH": json.dumps(await a_session_and_flow(demo_database_url)),
            },
        )
    print(output)
    assert code == 0, output
    assert "ℹ pass 4" in output and "ℹ fail 0" in output, output
