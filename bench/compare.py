"""Where two GraphQL `data` trees differ: exact for counts, names and order; floats to 1e-9."""

from __future__ import annotations

import math
from typing import Any


def differences(api: Any, expected: Any, path: str = "") -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(api, dict):
            return [f"{path}: {api!r} is not an object"]
        out: list[str] = []
        for key in sorted(set(api) | set(expected)):
            if key not in api or key not in expected:
                out.append(f"{path}.{key}: present on one side only")
            else:
                out += differences(api[key], expected[key], f"{path}.{key}")
        return out
    if isinstance(expected, list):
        if not isinstance(api, list) or len(api) != len(expected):
            return [f"{path}: {len(api) if isinstance(api, list) else api!r} items, "
                    f"expected {len(expected)}"]  # fmt: skip
        return [d for i, (a, e) in enumerate(zip(api, expected, strict=True))
                for d in differences(a, e, f"{path}[{i}]")]  # fmt: skip
    if isinstance(expected, float) and isinstance(api, int | float) and not isinstance(api, bool):
        if math.isclose(api, expected, rel_tol=1e-9, abs_tol=1e-9):
            return []
    elif api == expected and type(api) is type(expected):
        return []
    return [f"{path}: API {api!r}, floor {expected!r}"]
