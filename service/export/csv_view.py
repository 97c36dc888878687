"""CSV export of a tab: `GET /export/{tab}.csv?period=...`, for spreadsheets.

The export runs the tab's own first-party document (queries/) through the same schema,
context, role guard and tenant binding as `/graphql`, then flattens the answer into one
RFC 4180 table. Every object of the answer becomes a row: the tab's root object in
section `<tab>`, each item of a list of objects in section `<list path>` (for example
`domains` or `domains.flows`) with its 1-based `position` (`4.1` = first flow of the
fourth domain). Columns are every scalar the document selects, in document order,
nested objects as dotted names (`confidenceTiers.guided`). Numbers are written
unformatted, dates ISO, booleans `true`/`false`, lists of scalars joined by `;`,
nulls and fields a section does not have as empty cells.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any, cast

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)
from graphql.type.definition import GraphQLInputType, get_named_type, is_list_type
from graphql.utilities import type_from_ast
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.types import ExecutionResult

from core.error_codes import ErrorCode
from core.errors import Unauthenticated
from queries import EVIDENCE_DOCUMENTS, TAB_DOCUMENTS, tab_query
from service.export.csv_cells import formula_safe
from service.http.request_id import current_request_id
from service.observability.requests import note_errors, note_operation
from service.pipeline.error_masking import mask_errors
from service.pipeline.pipeline import Pipeline
from service.pipeline.request_state import RequestState
from service.response_cache import conditional

_STATUS_BY_CODE: dict[str, int] = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.DATABASE_UNAVAILABLE: 503,
    ErrorCode.TIMEOUT: 504,
}


@dataclass
class Shape:
    """The selected shape of one object: scalar columns and lists of objects below it."""

    scalars: list[tuple[str, ...]] = field(default_factory=list)
    lists: list[tuple[tuple[str, ...], Shape]] = field(default_factory=list)


def _unwrap(type_: GraphQLOutputType) -> tuple[bool, Any]:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    listed = is_list_type(type_)
    return listed, get_named_type(type_)


def _fields(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> list[FieldNode]:
    out: list[FieldNode] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            out.append(selection)
        elif isinstance(selection, FragmentSpreadNode):
            out.extend(_fields(fragments[selection.name.value].selection_set, fragments))
        elif isinstance(selection, InlineFragmentNode):
            out.extend(_fields(selection.selection_set, fragments))
    return out


def _shape(
    parent: GraphQLObjectType,
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    prefix: tuple[str, ...] = (),
    into: Shape | None = None,
) -> Shape:
    shape = into or Shape()
    for node in _fields(selection_set, fragments):
        if node.name.value.startswith("__"):
            continue
        key = (node.alias or node.name).value
        listed, named = _unwrap(parent.fields[node.name.value].type)
        path = (*prefix, key)
        if isinstance(named, GraphQLObjectType) and node.selection_set is not None:
            if listed:
                shape.lists.append((path, _shape(named, node.selection_set, fragments)))
            else:
                _shape(named, node.selection_set, fragments, path, shape)
        elif path not in shape.scalars:
            shape.scalars.append(path)
    return shape


@dataclass(frozen=True)
class TabExport:
    """One tab's document, its root field and the shape of its answer."""

    tab: str
    query: str
    operation: str
    root_key: str
    shape: Shape
    variables: dict[str, GraphQLInputType]

    @classmethod
    def build(cls, schema: GraphQLSchema, tab: str) -> TabExport:
        query = tab_query(tab)
        document = parse(query)
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        assert operation.name is not None and schema.query_type is not None
        (root,) = _fields(operation.selection_set, fragments)
        _, named = _unwrap(schema.query_type.fields[root.name.value].type)
        assert root.selection_set is not None
        variables: dict[str, GraphQLInputType] = {}
        for definition in operation.variable_definitions or ():
            input_type = type_from_ast(schema, definition.type)
            assert input_type is not None
            variables[definition.variable.name.value] = cast(GraphQLInputType, input_type)
        return cls(
            tab=tab,
            query=query,
            operation=operation.name.value,
            root_key=(root.alias or root.name).value,
            shape=_shape(named, root.selection_set, fragments),
            variables=variables,
        )

    def columns(self) -> list[str]:
        names: list[str] = []

        def walk(shape: Shape) -> None:
            for path in shape.scalars:
                name = ".".join(path)
                if name not in names:
                    names.append(name)
            for _, child in shape.lists:
                walk(child)

        walk(self.shape)
        return ["section", "position", *names]

    def rows(self, answer: dict[str, Any]) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []

        def emit(shape: Shape, value: dict[str, Any], section: str, position: str) -> None:
            row = {"section": section, "position": position}
            for path in shape.scalars:
                row[".".join(path)] = cell(_dig(value, path))
            rows.append(row)
            for path, child in shape.lists:
                items = _dig(value, path) or []
                name = ".".join(path) if section == self.tab else f"{section}.{'.'.join(path)}"
                for index, item in enumerate(items, start=1):
                    where = f"{position}.{index}" if position else str(index)
                    emit(child, item, name, where)

        emit(self.shape, answer, self.tab, "")
        return rows

    def to_csv(self, answer: dict[str, Any]) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns(), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(self.rows(answer))
        return buffer.getvalue()


def _dig(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if value is None:
            return None
        value = value.get(key)
    return value


def cell(value: Any) -> str:
    """One CSV cell: numbers unformatted, booleans lower-case, nulls empty, text formula-safe."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _plain(value)
    if isinstance(value, list) and value and isinstance(value[0], (int, float)):
        return _plain(value)
    return formula_safe(_plain(value))


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return ";".join(_plain(item) for item in value)
    return str(value)


def _error(status: int, code: str, message: str, **extensions: Any) -> JSONResponse:
    """A refusal as JSON: `error.code` (the GraphQL code), message, and the request id."""
    note_errors([code])
    request_id = current_request_id()
    error = {**extensions, "code": code, "message": message, "requestId": request_id}
    return JSONResponse({"error": error, "requestId": request_id}, status)


# A custom range travels as two plain parameters, `from` and `to` (local days, ISO).
_RANGE_PARAMETERS = ("from", "to")


def _variables(params: dict[str, str], declared: dict[str, GraphQLInputType]) -> dict[str, Any]:
    """The document's variables from the query string; ValueError names a bad parameter."""
    allowed = [name for name in declared if name != "range"]
    if "range" in declared:
        allowed.extend(_RANGE_PARAMETERS)
    variables: dict[str, Any] = {}
    for name, raw in params.items():
        if name not in allowed:
            raise ValueError(f"unknown parameter {name}; use {', '.join(allowed)}")
        if name not in _RANGE_PARAMETERS:
            variables[name] = _variable(name, raw, declared[name])
    given = [name for name in _RANGE_PARAMETERS if name in params]
    if given and len(given) < len(_RANGE_PARAMETERS):
        raise ValueError("a custom range needs both from and to (YYYY-MM-DD)")
    if given:
        variables["range"] = {name: params[name] for name in _RANGE_PARAMETERS}
    return variables


def _variable(name: str, raw: str, type_: GraphQLInputType) -> Any:
    named = get_named_type(type_).name
    if named == "Int":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{name} must be a whole number") from None
    if named == "Boolean":
        return raw.lower() in {"1", "true", "yes"}
    return raw


class CsvExport:
    """The `/export/{tab}.csv` endpoint: the request pipeline's steps, as `/graphql`'s
    (the same caller, slots, budget, deadline and cache), encoded as CSV."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        graphql_schema: GraphQLSchema = pipeline.schema._schema
        exports = [*TAB_DOCUMENTS, *EVIDENCE_DOCUMENTS]
        self.tabs = {tab: TabExport.build(graphql_schema, tab) for tab in exports}

    async def handle(self, request: Request) -> Response:
        tab = request.path_params["tab"]
        export = self.tabs.get(tab)
        if export is None:
            known = ", ".join(f"{name}.csv" for name in self.tabs)
            return _error(404, ErrorCode.NOT_FOUND, f"no export named {tab}.csv; there are {known}")
        note_operation(f"export:{tab}", f"export:{tab}")
        try:
            variables = _variables(dict(request.query_params), export.variables)
        except ValueError as error:
            return _error(400, ErrorCode.BAD_USER_INPUT, str(error))
        if "first" in export.variables:
            variables.setdefault("first", None)  # a spreadsheet wants every row, not a page
        state = RequestState(
            request, kind="csv", query=export.query, operation_name=export.operation,
            variables=variables,
        )  # fmt: skip
        await self.pipeline.authenticate(state, request.app.state.database)
        if state.principal is None:
            refusal = Unauthenticated(state.auth_error or "authentication required")
            return _refusal(ExecutionResult(data=None, errors=[refusal]))
        assert state.context is not None
        try:
            outcome = await self.pipeline.admitted(state, lambda: self._run(state, export))
        finally:
            await state.context.close()
        if isinstance(outcome, Response):
            return outcome
        return _refusal(outcome)

    async def _run(self, state: RequestState, export: TabExport) -> Response | ExecutionResult:
        """Look up (a hit ends here), execute, encode as CSV, store."""
        ticket = await self.pipeline.look_up(state)
        if ticket.refusal is not None:
            return ExecutionResult(data=None, errors=[ticket.refusal])
        if ticket.entry is not None:
            return self._csv(export.tab, ticket.entry.body, ticket.entry.etag, ticket.not_modified)
        result = await self.pipeline.execute(state)
        if result.errors:
            return result
        assert result.data is not None
        body = export.to_csv(result.data[export.root_key]).encode()
        entry = await self.pipeline.store(state, body)
        return self._csv(export.tab, body, None if entry is None else entry.etag)

    @staticmethod
    def _csv(tab: str, body: bytes, etag: str | None, unchanged: bool = False) -> Response:
        if etag is not None and unchanged:
            return conditional.not_modified(etag)
        headers = {"Content-Disposition": f'attachment; filename="{tab}.csv"'}
        headers.update(conditional.headers(etag))
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


def _refusal(result: ExecutionResult) -> JSONResponse:
    """The first error of a result that has no CSV, as JSON with the status its code asks."""
    assert result.errors
    first = mask_errors(result.errors, current_request_id())[0].formatted
    extensions = dict(first.get("extensions") or {})
    code = str(extensions.pop("code", None) or ErrorCode.BAD_USER_INPUT)
    extensions.pop("requestId", None)
    status = _STATUS_BY_CODE.get(code, 400)
    return _error(status, code, str(first["message"]), **extensions)
