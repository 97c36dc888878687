"""Persisted-query manifests, as frontends ship them, for the safelist.

Two formats are read: Apollo's `apollo-persisted-query-manifest` (what
`@apollo/generate-persisted-query-manifest` writes) and GraphQL Code Generator's persisted
documents map (`{"<hash>": "<document>"}`). `PERSISTED_QUERIES_MANIFESTS` names them; the
safelist then accepts exactly their operations, by id or by identical text.

`python main.py persisted-query-manifest` writes the manifest of `queries/` the way
Apollo's tool does: each document as Apollo Client sends it (`__typename` added to every
selection set below the operation, definitions sorted, printed by graphql's printer), its
id the SHA-256 of that text. The hash an Apollo persisted-query link sends is that id, not
the hash of the file's bytes (comments and layout are gone).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    print_ast,
)

from core.settings import SettingsError

APOLLO_FORMAT = "apollo-persisted-query-manifest"
APOLLO_VERSION = 1


class ManifestError(SettingsError):
    """A manifest that cannot be used; the service does not start with it."""


@dataclass(frozen=True)
class ManifestOperation:
    """One operation of a manifest."""

    id: str
    name: str
    type: str
    body: str


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _with_typename(selection_set: SelectionSetNode, *, below_operation: bool) -> SelectionSetNode:
    """Apollo Client's addTypenameToDocument for one selection set (and those inside it)."""
    selections: list[Any] = []
    for selection in selection_set.selections:
        inner = getattr(selection, "selection_set", None)
        if inner is not None:
            inner = _with_typename(inner, below_operation=True)
            selection = replace(selection, selection_set=inner)  # type: ignore[call-arg]
        selections.append(selection)
    skip = not below_operation or any(
        isinstance(s, FieldNode) and s.name.value.startswith("__") for s in selections
    )
    if not skip:
        selections.append(FieldNode(name=NameNode(value="__typename"), directives=(), arguments=()))
    return replace(selection_set, selections=tuple(selections))


def apollo_body(document: DocumentNode) -> str:
    """The text Apollo Client sends for `document` (and its manifest tool records)."""
    definitions = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            below = isinstance(definition, FragmentDefinitionNode)
            selection_set = _with_typename(definition.selection_set, below_operation=below)
            definition = replace(definition, selection_set=selection_set)
        definitions.append(definition)

    def order(definition: Any) -> tuple[str, str]:
        name = getattr(definition, "name", None)
        return (definition.kind, name.value if name is not None else "")

    # persisted-query-lists' sortTopLevelDefinitions: kind descending, then name ascending.
    definitions.sort(key=lambda d: order(d)[1])
    definitions.sort(key=lambda d: order(d)[0], reverse=True)
    return print_ast(DocumentNode(definitions=tuple(definitions)))


def generate_manifest(documents: Mapping[str, str]) -> dict[str, Any]:
    """The Apollo manifest of named documents (file name → text), operations by name."""
    operations: list[dict[str, str]] = []
    for file_name, text in documents.items():
        document = parse(text)
        named = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(named) != 1 or named[0].name is None:
            raise ManifestError(f"{file_name}: a document must hold exactly one named operation")
        body = apollo_body(document)
        operations.append(
            {
                "id": _sha256(body),
                "name": named[0].name.value,
                "type": named[0].operation.value,
                "body": body,
            }
        )
    operations.sort(key=lambda operation: operation["name"])
    return {"format": APOLLO_FORMAT, "version": APOLLO_VERSION, "operations": operations}


def _operation_of(body: str, where: str) -> tuple[str, str]:
    try:
        document = parse(body)
    except GraphQLError as error:
        raise ManifestError(f"{where}: does not parse: {error.message}") from None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        raise ManifestError(f"{where}: must hold exactly one operation")
    name = operations[0].name.value if operations[0].name else ""
    return name, operations[0].operation.value


def parse_manifest(content: Any, source: str) -> list[ManifestOperation]:
    """The operations of an Apollo manifest or a GraphQL Code Generator documents map."""
    if isinstance(content, Mapping) and content.get("format") == APOLLO_FORMAT:
        if content.get("version") != APOLLO_VERSION:
            raise ManifestError(f"{source}: only version {APOLLO_VERSION} manifests are read")
        found = []
        for index, entry in enumerate(content.get("operations") or []):
            where = f"{source}: operations[{index}]"
            if not isinstance(entry, Mapping) or not all(
                isinstance(entry.get(key), str) for key in ("id", "body")
            ):
                raise ManifestError(f"{where} needs a string id and body")
            name, kind = _operation_of(entry["body"], where)
            found.append(ManifestOperation(entry["id"], name, kind, entry["body"]))
        return found
    if isinstance(content, Mapping) and content and "format" not in content:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in content.items()):
            raise ManifestError(f"{source}: a documents map maps hashes to document strings")
        found = []
        for key, body in content.items():
            name, kind = _operation_of(body, f"{source}: {key}")
            found.append(ManifestOperation(key.removeprefix("sha256:"), name, kind, body))
        return found
    raise ManifestError(
        f"{source}: neither an {APOLLO_FORMAT} nor a GraphQL Code Generator documents map"
    )


def load_manifests(paths: Iterable[str]) -> dict[str, str]:
    """The safelist of the manifests: document text by id and by SHA-256 of the text."""
    known: dict[str, str] = {}
    for path in paths:
        try:
            content = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ManifestError(f"persisted-query manifest {path}: {error}") from None
        for operation in parse_manifest(content, path):
            for key in {operation.id.lower(), _sha256(operation.body)}:
                if known.setdefault(key, operation.body) != operation.body:
                    raise ManifestError(f"{path}: id {key} names two different documents")
    if not known and paths:
        raise ManifestError("the persisted-query manifests hold no operation")
    return known


def cmd_persisted_query_manifest(args: Any) -> int:
    """CLI: write the Apollo manifest of `queries/` to --output (default: stdout)."""
    from queries import operation_documents

    text = json.dumps(generate_manifest(operation_documents()), indent=2) + "\n"
    if args.output in (None, "-"):
        print(text, end="")
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0
