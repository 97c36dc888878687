"""One log format: every record, from the app, the jobs, uvicorn and errors, is one JSON
object on one line of stdout.

Each line has `timestamp` (UTC, ISO 8601), `level`, `logger`, `message`, `pid`, the
`request_id` of the request being served (null outside one) and whatever the caller passed
as `extra` (the request line's fields). A traceback is the `traceback` field, never lines
of its own. python-json-logger does the encoding (escaping, extras, exception text); this
module only fixes the field names and where the lines go.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from service.http.request_id import current_request_id

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Attributes some libraries add to their records that only duplicate the message.
_DROPPED = ("color_message",)
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
# Libraries whose INFO lines are routine steps (alembic's checks of the schema revision).
_CHATTY = ("alembic",)


class JsonLines(JsonFormatter):
    """The product's log line: fixed keys first, then the record's extras."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(
            "%(message)s",
            rename_fields={"exc_info": "traceback", "stack_info": "stack"},
            json_ensure_ascii=False,
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["timestamp"] = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds"
        )
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["pid"] = record.process
        super().add_fields(log_data, record, message_dict)
        for name in _DROPPED:
            log_data.pop(name, None)
        log_data.setdefault("request_id", current_request_id())


class StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stdout` is at the time of each record (a test runner or a
    worker may replace it after the handler was made)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def logging_config(level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` (and uvicorn `log_config`) for JSON lines at `level`:
    one handler on the root logger, every other logger propagating to it."""
    propagate = {"handlers": [], "propagate": True, "level": level}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonLines"}},
        "handlers": {"stdout": {"()": f"{__name__}.StdoutHandler", "formatter": "json"}},
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            **{name: dict(propagate) for name in (*_UVICORN_LOGGERS, "flowpilot")},
            **{name: {"level": _quieter(level)} for name in _CHATTY},
            # The request line (flowpilot.requests) is the access log: uvicorn logs its
            # own only when this logger reaches a handler.
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }


def _quieter(level: str) -> str:
    """At most WARNING for libraries that report routine steps at INFO."""
    return level if LEVELS.index(level) > LEVELS.index("WARNING") else "WARNING"


def configure_logging(level: str) -> None:
    """JSON lines at `level` on the root logger, once; uvicorn's and the app's loggers
    propagate to it. Leaves other handlers (a test runner's) in place."""
    logging.captureWarnings(True)  # a Python warning is a log line too, not stderr text
    root = logging.getLogger()
    if not any(isinstance(handler.formatter, JsonLines) for handler in root.handlers):
        handler = StdoutHandler()
        handler.setFormatter(JsonLines())
        root.addHandler(handler)
    root.setLevel(level)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(_quieter(level))
    for name in (*_UVICORN_LOGGERS, "flowpilot", "flowpilot.requests"):
        if name == "uvicorn.access":
            continue
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not isinstance(h, logging.StreamHandler)]
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
