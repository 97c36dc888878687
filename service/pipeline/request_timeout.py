"""The overall request timeout: execution past it is cancelled and answered with TIMEOUT.

Cancelling the execution cancels the in-flight statement too (asyncpg sends the
server a cancel request), and the session's context managers roll back and return the
connection to the pool, or the pool discards it when it cannot be reset.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from strawberry.types import ExecutionResult

from core.error_codes import ErrorCode
from service.http.request_id import current_request_id
from service.pipeline.error_masking import MESSAGES, coded_error

logger = logging.getLogger("flowpilot.errors")
T = TypeVar("T")


async def within_request_timeout(
    execution: Awaitable[T], seconds: float, deadline: float | None = None
) -> T | ExecutionResult:
    """The execution's result, or a TIMEOUT error result when it takes over `seconds`, or
    runs past `deadline` (the loop's time) when given: the request's timeout counted from
    an earlier instant, when part of the request ran before."""
    if seconds <= 0:
        return await execution
    scope = asyncio.timeout_at(deadline) if deadline is not None else asyncio.timeout(seconds)
    try:
        async with scope:
            return await execution
    except TimeoutError:
        if not scope.expired():
            raise
        return timed_out(seconds)


def timed_out(seconds: float) -> ExecutionResult:
    """The TIMEOUT result of a request stopped at its `seconds` timeout (logged)."""
    request_id = current_request_id()
    logger.warning("request %s stopped after the %.1f s request timeout", request_id, seconds)
    return ExecutionResult(
        data=None,
        errors=[
            coded_error(
                MESSAGES[ErrorCode.TIMEOUT], ErrorCode.TIMEOUT, request_id, timeoutSeconds=seconds
            )
        ],
    )
