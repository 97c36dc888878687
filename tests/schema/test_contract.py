"""The served schema keeps every contract name and matches the exported SDL file."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema, find_breaking_changes

from schema.build import schema
from schema.export import SDL_PATH, served_sdl

# The contract lives beside the repo in ../shared; a copy is kept here so that a clone
# without it still checks the contract (and a test notices when the two differ).
SHARED_CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "contract" / "schema.graphql"
VENDORED_CONTRACT = Path(__file__).resolve().parent / "contract.graphql"


def _contract_sdl() -> str:
    source = SHARED_CONTRACT if SHARED_CONTRACT.exists() else VENDORED_CONTRACT
    return source.read_text(encoding="utf-8")


def test_vendored_contract_copy_is_current() -> None:
    if not SHARED_CONTRACT.exists():
        pytest.skip("no ../shared/contract beside this checkout")
    assert VENDORED_CONTRACT.read_text(encoding="utf-8") == _contract_sdl()


def test_exported_sdl_matches_served_schema() -> None:
    assert SDL_PATH.read_text(encoding="utf-8") == served_sdl(), (
        "schema.graphql is stale: run `python -m schema.export`"
    )


def test_served_schema_only_extends_the_contract() -> None:
    contract = build_schema(_contract_sdl())
    assert find_breaking_changes(contract, schema._schema) == []


def test_contract_check_detects_a_removed_field() -> None:
    """The breaking-change check itself can fail: a contract with an extra field breaks."""
    contract = build_schema(_contract_sdl().replace("type Flow {", "type Flow {\n  gone: Int!"))
    changes = find_breaking_changes(contract, schema._schema)
    assert len(changes) == 1
    assert "Flow.gone was removed" in changes[0].description


def test_every_type_and_field_is_described() -> None:
    missing = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not graphql_type.description:
            missing.append(name)
        for field_name, field in getattr(graphql_type, "fields", {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
    assert missing == []
