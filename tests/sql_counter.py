"""Count the SQL statements the running app sends, so tests can pin N+1 behaviour down.

A `before_cursor_execute` listener on the app's engines (read and primary; once when they
are the same engine) records the statements sent while the context manager is open, from
the context that opened it only: the app's background jobs (outbox recovery on a timer)
run in their own task and must not be counted against a request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.applications import Starlette

# The statements that bind the account: the plain setting, and the data state function a
# read snapshot opens with (it binds the account and reads its time zone).
TENANCY_CALLS = ("set_config('app.current_account_id'", "flowpilot_data_state(")
_measuring: ContextVar[object | None] = ContextVar("measuring_statements", default=None)


@dataclass
class StatementLog:
    """The statements seen; `queries` leaves out the per-transaction tenancy setting."""

    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    @property
    def queries(self) -> list[str]:
        return [s for s in self.statements if not any(call in s for call in TENANCY_CALLS)]

    @property
    def transactions(self) -> int:
        return self.count - len(self.queries)


def app_engines(app: Starlette) -> list[Engine]:
    database = app.state.database
    engines = [database.read_engine.sync_engine, database.primary_engine.sync_engine]
    unique: list[Engine] = []
    for engine in engines:
        if all(engine is not seen for seen in unique):
            unique.append(engine)
    return unique


@contextmanager
def count_statements(app: Starlette) -> Iterator[StatementLog]:
    log = StatementLog()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if _measuring.get() is log:
            log.statements.append(statement)

    engines = app_engines(app)
    token = _measuring.set(log)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield log
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
        _measuring.reset(token)
