"""Response bodies encode the same JSON values as json.dumps, and fall back to it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.pipeline.encoding import encode_response

VALUES: list[Any] = [
    {"data": {"rate": 0.1 + 0.2, "tiny": 2e-06, "big": 1e16, "whole": 3.0, "n": -7}},
    {"data": {"name": 'Überweisung — “quoted” \\ "escaped"\n', "none": None, "ok": True}},
    {"data": {"list": [1 / 3, 2 / 3, 1e-300, 123456789.123456789, 0.0, -0.0]}},
]


@pytest.mark.parametrize("value", VALUES)
def test_the_same_json_as_json_dumps(value: Any) -> None:
    body = encode_response(value)
    assert json.loads(body) == value
    assert json.loads(body) == json.loads(json.dumps(value, separators=(",", ":")))
    assert isinstance(body, bytes)


def test_floats_read_back_exactly() -> None:
    floats = [0.1 * k / 7 for k in range(1, 200)]
    assert json.loads(encode_response(floats)) == floats


def test_what_orjson_refuses_is_encoded_as_before() -> None:
    value = {"errors": [{"message": "lone \ud800 surrogate"}]}
    assert encode_response(value) == json.dumps(value, separators=(",", ":"))
