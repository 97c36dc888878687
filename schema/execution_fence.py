"""Which executor runs operations: the lean one only where it was written to run.

schema/lean_execution.py overrides members of graphql-core's `ExecutionContext` and reads
strawberry internals, which both projects change between releases without notice. So it
runs only on the exact versions it was written and compared against (pinned in
pyproject.toml); on any other, and when LEAN_EXECUTION is off, graphql-core's own
execution runs (strawberry's default context), which answers the same, a little slower.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib import metadata
from typing import Any

logger = logging.getLogger(__name__)

# The distributions the lean executor depends on, at the versions it was written for.
LEAN_WRITTEN_FOR: dict[str, str] = {"graphql-core": "3.3.2", "strawberry-graphql": "0.341.2"}


def _installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def version_mismatch() -> str | None:
    """What differs from the versions the lean executor was written for, or None."""
    found = {name: _installed(name) for name in LEAN_WRITTEN_FOR}
    differing = [
        f"{name} {found[name] or 'missing'} (written for {wanted})"
        for name, wanted in LEAN_WRITTEN_FOR.items()
        if found[name] != wanted
    ]
    return ", ".join(differing) or None


@lru_cache(maxsize=1)
def _lean_context() -> type[Any] | None:
    """The lean context when the versions match; else None, said once per process."""
    mismatch = version_mismatch()
    if mismatch is not None:
        logger.warning("lean execution off, graphql-core's own execution runs: %s", mismatch)
        return None
    # Imported only now: it names graphql-core members an other version may not have.
    from schema.lean_execution import LeanExecutionContext

    return LeanExecutionContext


def execution_context_class(lean: bool) -> type[Any] | None:
    """The execution context for a schema; None: strawberry's default (graphql-core's own
    execution). `lean`: LEAN_EXECUTION."""
    return _lean_context() if lean else None
