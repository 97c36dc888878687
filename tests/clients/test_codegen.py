"""GraphQL Code Generator's types for queries/ compile with `tsc --strict` (no server needed)."""

from __future__ import annotations

from queries import QUERIES_DIR
from schema.export import SDL_PATH
from tests.clients.node_project import require_node, run_node_tests


async def test_codegen_types_compile_strictly() -> None:
    node = require_node()
    code, output = await run_node_tests(
        node,
        "codegen.test.mjs",
        {"FLOWPILOT_SCHEMA": str(SDL_PATH), "FLOWPILOT_QUERIES_DIR": str(QUERIES_DIR)},
    )
    print(output)
    assert code == 0, output
    assert "ℹ pass 1" in output and "ℹ fail 0" in output, output
