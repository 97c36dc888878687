"""The log line format itself: a traceback is a field of the one line, strawberry's error
records lose the document text, and LOG_LEVEL accepts only the levels."""

from __future__ import annotations

import json
import logging

import pytest
from graphql import GraphQLError, Source

from core.settings import Settings, SettingsError
from service.observability.log_format import JsonLines
from service.pipeline.error_masking import quiet_known_errors


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(JsonLines())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def capture(name: str) -> tuple[logging.Logger, Lines]:
    logger = logging.getLogger(name)
    handler = Lines()
    logger.addHandler(handler)
    return logger, handler


def test_a_traceback_is_a_field_of_one_line() -> None:
    logger, lines = capture("flowpilot.test_log_format")
    try:
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            logger.exception("job %s failed", "recalc")
    finally:
        logger.removeHandler(lines)
    (line,) = lines.lines
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "job recalc failed"
    assert parsed["level"] == "ERROR"
    assert parsed["logger"] == "flowpilot.test_log_format"
    assert parsed["request_id"] is None  # outside a request
    assert parsed["traceback"].startswith("Traceback (most recent call last):")
    assert parsed["traceback"].endswith("ZeroDivisionError: division by zero")


def test_strawberry_error_records_keep_no_document_text() -> None:
    quiet_known_errors()
    logger, lines = capture("strawberry.execution")
    document = 'query Q { overview(period: "SECRET-LITERAL") { sessionCount } }'
    error = GraphQLError(
        "resolver failed",
        source=Source(document),
        positions=[10],
        path=["overview"],
        original_error=ValueError("resolver failed"),
    )
    assert "SECRET-LITERAL" in str(error)  # what strawberry's record would have printed
    try:
        logger.error(error, exc_info=error.original_error)
    finally:
        logger.removeHandler(lines)
    (line,) = lines.lines
    assert "SECRET-LITERAL" not in line
    assert json.loads(line)["message"] == "resolver failed (at ['overview'])"


@pytest.mark.parametrize("raw", ["verbose", "5", "warn"])
def test_log_level_refuses_anything_but_a_level(raw: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"LOG_LEVEL": raw})
    assert str(refused.value) == (
        f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got {raw!r}"
    )


def test_log_level_is_read_in_any_case() -> None:
    assert Settings.from_env({"LOG_LEVEL": "warning"}).log_level == "WARNING"
    assert Settings.from_env({}).log_level == "INFO"
