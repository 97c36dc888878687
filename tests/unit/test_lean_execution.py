"""Plain leaf fields read directly answer exactly as graphql-core's generic path does:
the same values, the same nulls and the same errors at the same paths."""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable
from typing import Any

import pytest
import strawberry
from strawberry.extensions import FieldExtension
from strawberry.schema.config import StrawberryConfig

from schema.lean_execution import LeanExecutionContext
from schema.scalars import SCALAR_OVERRIDES


@strawberry.enum
class Level(enum.Enum):
    GOOD = "good"
    CRITICAL = "critical"


@strawberry.type
class Point:
    day: datetime.date
    count: int
    rate: float | None
    level: Level | None
    name: str
    strict: int  # non-null: a None here is an error on the generic path


class Shout(FieldExtension):
    """Runs on every call: a field with an extension must never take the short path."""

    calls = 0

    def resolve(self, next_: Callable[..., Any], source: Any, info: Any, **kwargs: Any) -> Any:
        Shout.calls += 1
        return str(next_(source, info, **kwargs)).upper()


@strawberry.type
class Row:
    label: str = strawberry.field(extensions=[Shout()])
    point: Point
    maybe: Point | None = None


POINTS: list[Any] = [
    Point(day=datetime.date(2026, 3, 1), count=3, rate=0.25, level=Level.GOOD, name="a", strict=1),
    Point(day=datetime.date(2026, 3, 2), count=0, rate=None, level=None, name="b", strict=2),
]


@strawberry.type
class Query:
    @strawberry.field
    def points(self) -> list[Point]:
        return POINTS

    @strawberry.field
    def rows(self) -> list[Row]:
        return [
            Row(label=point.name, point=point, maybe=point if point.count else None)
            for point in POINTS
        ]


def _schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    generic = strawberry.Schema(query=Query, scalar_overrides=SCALAR_OVERRIDES)
    lean = strawberry.Schema(
        query=Query, scalar_overrides=SCALAR_OVERRIDES, execution_context_class=LeanExecutionContext
    )
    return generic, lean


async def _both(query: str) -> tuple[Any, Any]:
    generic, lean = _schemas()
    return await generic.execute(query), await lean.execute(query)


def _point_with(attribute: str, value: Any) -> Point:
    """A valid point with one attribute set to `value` (of any type)."""
    point = Point(
        day=datetime.date(2026, 3, 3), count=1, rate=0.5, level=Level.GOOD, name="c", strict=3
    )
    setattr(point, attribute, value)
    return point


def _errors(result: Any) -> list[tuple[str, Any]]:
    return [(error.message, error.path) for error in result.errors or ()]


async def test_plain_leaves_answer_as_the_generic_path() -> None:
    query = "{ points { day count rate level name strict alias: count } }"
    generic, lean = await _both(query)
    assert lean.errors is None
    assert lean.data == generic.data
    assert lean.data["points"][1] == {
        "day": "2026-03-02",
        "count": 0,
        "rate": None,
        "level": None,
        "name": "b",
        "strict": 2,
        "alias": 0,
    }


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("strict", None),
        ("count", "not a number"),
        ("rate", float("inf")),
        ("rate", float("-inf")),
        ("rate", float("nan")),
        ("count", 2**31),
        ("count", -(2**31) - 1),
        ("level", "GOOD"),
    ],
)
async def test_a_value_the_field_refuses_fails_as_on_the_generic_path(
    monkeypatch: pytest.MonkeyPatch, attribute: str, value: Any
) -> None:
    monkeypatch.setattr(
        "tests.unit.test_lean_execution.POINTS", [*POINTS, _point_with(attribute, value)]
    )
    generic, lean = await _both("{ points { count rate level strict } }")
    assert lean.errors
    assert _errors(lean) == _errors(generic)
    assert lean.data == generic.data


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("count", True),  # a bool is no int to pass through: the scalar makes it 1
        ("count", 2.0),
        ("count", 2**31 - 1),
        ("count", -(2**31)),
        ("rate", 3),
        ("rate", False),
        ("rate", -0.0),
        ("name", 5),
        ("name", 0.5),
    ],
)
async def test_a_value_the_scalar_converts_answers_as_on_the_generic_path(
    monkeypatch: pytest.MonkeyPatch, attribute: str, value: Any
) -> None:
    monkeypatch.setattr("tests.unit.test_lean_execution.POINTS", [_point_with(attribute, value)])
    generic, lean = await _both("{ points { count rate name } }")
    assert lean.errors is None and generic.errors is None
    assert lean.data == generic.data
    assert [type(v) for v in lean.data["points"][0].values()] == [
        type(v) for v in generic.data["points"][0].values()
    ]


async def test_a_field_with_an_extension_still_runs_it() -> None:
    Shout.calls = 0
    generic, lean = await _both("{ rows { label point { count name } } }")
    assert lean.data == generic.data
    assert lean.data["rows"][0] == {"label": "A", "point": {"count": 3, "name": "a"}}
    assert Shout.calls == 2 * len(POINTS)  # once per row, on each schema


async def _with_null_strict(monkeypatch: pytest.MonkeyPatch, query: str) -> tuple[Any, Any]:
    """Both answers with a third point whose non-null `strict` is None: same errors, data."""
    broken = Point(
        day=datetime.date(2026, 3, 3), count=1, rate=None, level=None, name="c", strict=3
    )
    broken.strict = None  # type: ignore[assignment]
    monkeypatch.setattr("tests.unit.test_lean_execution.POINTS", [*POINTS, broken])
    generic, lean = await _both(query)
    assert lean.errors
    assert _errors(lean) == _errors(generic)
    assert lean.data == generic.data
    return generic, lean


async def test_an_error_under_an_object_nulls_the_same_parents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _with_null_strict(monkeypatch, "{ rows { point { strict } } points { count } }")


async def test_plain_object_fields_answer_as_the_generic_path() -> None:
    generic, lean = await _both("{ rows { point { count name } maybe { day strict } } }")
    assert lean.errors is None
    assert lean.data == generic.data
    assert lean.data["rows"][1] == {"point": {"count": 0, "name": "b"}, "maybe": None}


async def test_an_error_under_a_nullable_object_nulls_it_as_the_generic_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _generic, lean = await _with_null_strict(monkeypatch, "{ rows { label maybe { strict } } }")
    assert lean.data["rows"][2] == {"label": "C", "maybe": None}


@strawberry.type
class Group:
    name: str
    items: list[Point]


@strawberry.type
class IncrementalQuery:
    @strawberry.field
    def group(self) -> Group:
        return Group(name="g", items=POINTS)


async def _payloads(schema: strawberry.Schema, query: str) -> list[dict[str, Any]]:
    """The first payload and every later one, as a client receives them."""
    result: Any = await schema.execute(query)
    if not hasattr(result, "initial_result"):
        return [{"data": result.data, "errors": _errors(result)}]
    payloads = [result.initial_result.formatted]
    async for later in result.subsequent_results:
        payloads.append(later.formatted)
    return payloads


async def test_a_list_selected_at_once_and_deferred_comes_back_in_two_payloads() -> None:
    """The lean path once merged the deferred half of `items` into the first payload; an
    operation with @defer or @stream now runs graphql-core's path throughout."""
    config = StrawberryConfig(enable_experimental_incremental_execution=True)
    generic = strawberry.Schema(
        query=IncrementalQuery, scalar_overrides=SCALAR_OVERRIDES, config=config
    )
    lean = strawberry.Schema(
        query=IncrementalQuery,
        scalar_overrides=SCALAR_OVERRIDES,
        config=config,
        execution_context_class=LeanExecutionContext,
    )
    query = "{ group { items { count } ... @defer { items { name } } } }"
    payloads = await _payloads(lean, query)
    assert payloads == await _payloads(generic, query)
    assert payloads[0]["data"] == {"group": {"items": [{"count": 3}, {"count": 0}]}}
    assert payloads[1]["incremental"] == [
        {"data": {"name": "a"}, "id": "0", "subPath": ["items", 0]},
        {"data": {"name": "b"}, "id": "0", "subPath": ["items", 1]},
    ]


async def test_without_defer_the_same_schema_still_takes_the_short_path() -> None:
    config = StrawberryConfig(enable_experimental_incremental_execution=True)
    lean = strawberry.Schema(
        query=IncrementalQuery,
        scalar_overrides=SCALAR_OVERRIDES,
        config=config,
        execution_context_class=LeanExecutionContext,
    )
    seen: list[bool] = []
    original = LeanExecutionContext.__init__

    def spy(self: LeanExecutionContext, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        seen.append(self.direct_leaves)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LeanExecutionContext, "__init__", spy)
        await _payloads(lean, "{ group { items { count } } }")
        await _payloads(lean, "{ group { ... @defer { name } } }")
        await _payloads(lean, "{ group { ...G } } fragment G on Group { ... @defer { name } }")
    assert seen == [True, False, False]
