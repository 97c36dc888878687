"""Persisted-query manifests: both formats load, the safelist is exactly their operations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from graphql import parse

from core.settings import Settings
from queries import operation_documents
from service.pipeline.persisted_queries import (
    PersistedQueries,
    PersistedQueryNotAllowed,
    sha256_hex,
)
from service.pipeline.pq_manifests import (
    ManifestError,
    apollo_body,
    generate_manifest,
    load_manifests,
)

MUTATION = "mutation M($x: ID!) { recordFlowMatch(input: {sessionId: $x, flowId: $x}) { counted } }"


def _write(path: Path, content: object) -> str:
    path.write_text(json.dumps(content), encoding="utf-8")
    return str(path)


def test_apollo_body_is_what_apollo_client_sends() -> None:
    text = "# c\nquery Q { overview { sessionCount changes { x: sessionCount { absolute } } } }"
    assert apollo_body(parse(text)) == (
        "query Q {\n  overview {\n    sessionCount\n    changes {\n      x: sessionCount {\n"
        "        absolute\n        __typename\n      }\n      __typename\n    }\n"
        "    __typename\n  }\n}"
    )
    fragments = "query Q { ...B } fragment B on Query { __typename } fragment A on Query { a }"
    assert apollo_body(parse(fragments)).splitlines()[0] == "query Q {"
    assert "fragment A on Query {\n  a\n  __typename\n}" in apollo_body(parse(fragments))


def test_the_manifest_of_queries_has_every_document_mutations_included() -> None:
    manifest = generate_manifest(operation_documents())
    assert manifest["format"] == "apollo-persisted-query-manifest"
    names = {op["name"]: op["type"] for op in manifest["operations"]}
    assert names == {
        "AddDomainAlias": "mutation",
        "DismissDomainAliasSuggestion": "mutation",
        "DomainAliases": "query",
        "RemoveDomainAlias": "mutation",
        "CoverageTab": "query",
        "FlowQualityTab": "query",
        "OverviewTab": "query",
        "PsaTab": "query",
        "PsaActivityEvidence": "query",
        "RecordFlowMatch": "mutation",
        "SessionEvidence": "query",
    }
    for operation in manifest["operations"]:
        assert operation["id"] == sha256_hex(operation["body"])


def test_the_safelist_accepts_exactly_the_apollo_manifests_operations(tmp_path: Path) -> None:
    manifest = generate_manifest(operation_documents())
    known = load_manifests([_write(tmp_path / "m.json", manifest)])
    safelist = PersistedQueries(safelist=True, known=known)
    for operation in manifest["operations"]:
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": operation["id"]}}
        assert safelist.resolve(None, extensions, None) == operation["body"]
        assert safelist.resolve(operation["body"], None, None) == operation["body"]
    # The files as they are stay first-party too (the insights page sends them by hash),
    # though the manifest's bodies are Apollo's printing of them.
    raw_file = operation_documents()["overview.graphql"]
    assert sha256_hex(raw_file) not in {operation["id"] for operation in manifest["operations"]}
    by_file_hash = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(raw_file)}}
    assert safelist.resolve(None, by_file_hash, None) == raw_file
    assert safelist.resolve(raw_file, None, None) == raw_file
    with pytest.raises(PersistedQueryNotAllowed):
        safelist.resolve("{ overview { sessionCount } }", None, None)
    with pytest.raises(PersistedQueryNotAllowed):
        safelist.resolve(None, {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}, None)


def test_a_codegen_documents_map_loads_with_its_own_ids(tmp_path: Path) -> None:
    custom_id = "f" * 64
    path = _write(tmp_path / "persisted-documents.json", {custom_id: MUTATION})
    safelist = PersistedQueries(safelist=True, known=load_manifests([path]))
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": custom_id}}
    assert safelist.resolve(None, extensions, None) == MUTATION
    assert safelist.resolve(MUTATION, extensions, None) == MUTATION  # id is not the text's hash
    assert safelist.resolve(MUTATION, None, None) == MUTATION


@pytest.mark.parametrize(
    "content",
    [
        [],
        {"format": "apollo-persisted-query-manifest", "version": 2, "operations": []},
        {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": "x"}]},
        {"format": "apollo-persisted-query-manifest", "version": 1, "operations": []},
        {"abc": "query {"},
        {"abc": 3},
        {"abc": "query A { a } query B { b }"},
    ],
)
def test_unusable_manifests_stop_the_service(tmp_path: Path, content: object) -> None:
    with pytest.raises(ManifestError):
        load_manifests([_write(tmp_path / "bad.json", content)])


def test_a_missing_manifest_is_named(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"nope\.json"):
        load_manifests([str(tmp_path / "nope.json")])


def test_the_setting_names_manifests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERSISTED_QUERIES_MANIFESTS", " a.json, b.json ,")
    assert Settings.from_env().persisted_queries_manifests == ("a.json", "b.json")


def test_the_command_writes_the_manifest(tmp_path: Path) -> None:
    from service.cli.main import main

    output = tmp_path / "manifest.json"
    assert main(["persisted-query-manifest", "--output", str(output)]) == 0
    assert json.loads(output.read_text()) == generate_manifest(operation_documents())


def test_serve_stops_at_a_bad_manifest_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from service.cli.main import main

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("AUTH_JWT_SECRET", "a-secret-that-is-long-enough-0123456789")
    monkeypatch.setenv("PERSISTED_QUERIES_MANIFESTS", _write(tmp_path / "m.json", {"a": 1}))
    assert main(["serve"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1 and "m.json" in error
