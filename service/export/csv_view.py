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
from typing import TYPE_CHECKING, Any, cast

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

from core.error_codes import ErrorCode
from queries import EVIDENCE_DOCUMENTS, TAB_DOCUMENTS, tab_query
from service.export.csv_cells import formula_safe
from service.http.request_id import current_request_id
from service.observability.requests import note_account, note_errors, note_operation
from service.pipeline.error_masking import mask_errors
from service.pipeline.request_timeout import within_request_timeout
from service.response_cache import conditional
from service.response_cache.cache import attach

if TYPE_CHECKING:
    from service.pipeline.graphql_view import AnalyticsGraphQL

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
    """The `/export/{tab}.csv` endpoint, bound to the GraphQL view it shares context with."""

    def __init__(self, view: AnalyticsGraphQL) -> None:
        self.view = view
        graphql_schema: GraphQLSchema = view.schema._schema  # type: ignore[attr-defined]
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
        context = await self.view.get_context(request, Response())
        if context.principal is not None:
            note_account(context.principal.account_id)
        # --- response cache hook (service/response_cache): same cache as /graphql ---
        cache = self.view.response_cache.cache
        try:
            # One statement, bounded by the database's statement timeout.
            ticket = await cache.lookup(
                context,
                kind="csv",
                query=export.query,
                operation=export.operation,
                variables=variables,
                if_none_match=request.headers.get("if-none-match"),
            )
            attach(request, ticket)
        except BaseException:
            await context.close()
            raise
        if ticket.refusal is not None:
            await context.close()
            extensions = dict(ticket.refusal.extensions or {})
            extensions.pop("code", None)
            return _error(429, ErrorCode.RATE_LIMITED, ticket.refusal.message, **extensions)
        if ticket.entry is not None:
            await context.close()
            if ticket.not_modified:
                return conditional.not_modified(ticket.entry.etag)
            return self._csv(tab, ticket.entry.body, ticket.entry.etag)
        # --- end response cache hook ---
        try:
            result = await within_request_timeout(
                self.view.schema.execute(
                    export.query,
                    variable_values=variables,
                    context_value=context,
                    operation_name=export.operation,
                ),
                self.view.settings.request_timeout_s,
            )
        finally:
            await context.close()
        if result.errors:
            first = mask_errors(result.errors, current_request_id())[0].formatted
            extensions = dict(first.get("extensions") or {})
            code = str(extensions.pop("code", None) or ErrorCode.BAD_USER_INPUT)
            extensions.pop("requestId", None)
            status = _STATUS_BY_CODE.get(code, 400)
            return _error(status, code, str(first["message"]), **extensions)
        assert result.data is not None
        body = export.to_csv(result.data[export.root_key]).encode()
        entry = await cache.store(ticket, body)  # response cache hook
        return self._csv(tab, body, entry.etag)

    @staticmethod
    def _csv(tab: str, body: bytes, etag: str | None) -> Response:
        headers = {"Content-Disposition": f'attachment; filename="{tab}.csv"'}
        headers.update(conditional.headers(etag))
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
