"""What a client may learn from a failure: known errors keep their code and message,
everything else becomes a generic message with a code and the request id.

Database outages and timeouts are expected failures with their own codes
(DATABASE_UNAVAILABLE, TIMEOUT); anything unexpected is INTERNAL and is logged here
with its full detail, so no SQL text, stack, secret or other tenant's data reaches
the client.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import asyncpg
from graphql import GraphQLError
from sqlalchemy import exc as sa_exc

from core.error_codes import ErrorCode
from psa.errors import PsaError

logger = logging.getLogger("flowpilot.errors")

MESSAGES: dict[str, str] = {
    ErrorCode.INTERNAL: "Internal server error",
    ErrorCode.TIMEOUT: (
        "The request took too long and was stopped; try a shorter period or fewer fields"
    ),
    ErrorCode.DATABASE_UNAVAILABLE: "The database is unavailable; retry shortly",
}
# graphql-core appends suggestions to unknown enum values, types, arguments and input
# fields ("... Did you mean 'LAST_7_DAYS'?"); with introspection off they would still spell
# out the schema, so no message carries them (field suggestions are off in the schema).
_SUGGESTION = re.compile(r"\s*Did you mean [^\n]*\?$")
_CONNECTION_FAILURES: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,  # admin/crash shutdown
    asyncpg.exceptions.ConnectionDoesNotExistError,
    sa_exc.TimeoutError,  # the pool had no connection to give within its timeout
    ConnectionError,
    OSError,  # refused, reset, unreachable, connect timeout
)


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    """The error, its causes and contexts, and the driver errors SQLAlchemy wraps."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen or len(seen) > 20:
            continue
        seen.add(id(current))
        yield current
        pending.extend([current.__cause__, current.__context__, getattr(current, "orig", None)])


def failure_code(error: BaseException) -> str:
    """INTERNAL, TIMEOUT or DATABASE_UNAVAILABLE for an exception raised while resolving."""
    chain = list(_chain(error))
    if any(isinstance(item, asyncpg.QueryCanceledError) for item in chain):
        return ErrorCode.TIMEOUT
    if any(
        isinstance(item, sa_exc.DBAPIError) and item.connection_invalidated for item in chain
    ) or any(isinstance(item, _CONNECTION_FAILURES) for item in chain):
        return ErrorCode.DATABASE_UNAVAILABLE
    return ErrorCode.INTERNAL


def coded_error(
    message: str, code: str, request_id: str | None, **extensions: object
) -> GraphQLError:
    ext: dict[str, object] = {"code": code, **extensions}
    if request_id is not None:
        ext["requestId"] = request_id
    return GraphQLError(message, extensions=ext)


def without_suggestions(message: str) -> str:
    """The message without graphql-core's trailing "Did you mean ...?" suggestion."""
    return _SUGGESTION.sub("", message)


def mask_error(error: GraphQLError, request_id: str | None) -> GraphQLError:
    """The error as the client may see it (a new error when anything is hidden)."""
    original = error.original_error
    code = (error.extensions or {}).get("code")
    if isinstance(original, PsaError):
        return _located(error, original.message, {**original.extensions}, request_id)
    if code is not None and (original is None or isinstance(original, GraphQLError)):
        return _located(error, error.message, dict(error.extensions or {}), request_id)
    if error.path is None and (original is None or error.message.startswith("Variable '$")):
        # Variable coercion and operation selection: about the client's own input.
        return _located(error, error.message, {"code": ErrorCode.BAD_USER_INPUT}, request_id)
    failure = failure_code(original) if original is not None else ErrorCode.INTERNAL
    if failure == ErrorCode.INTERNAL:
        logger.error(
            "unexpected error at %s (request %s): %s",
            error.path,
            request_id,
            error.message,
            exc_info=original,
        )
    else:
        logger.warning(
            "%s at %s (request %s): %s",
            failure,
            error.path,
            request_id,
            type(original).__name__,
        )
    return _located(error, MESSAGES[failure], {"code": failure}, request_id)


def _located(
    error: GraphQLError, message: str, extensions: dict[str, object], request_id: str | None
) -> GraphQLError:
    if request_id is not None:
        extensions["requestId"] = request_id
    return GraphQLError(
        without_suggestions(message),
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


def mask_errors(errors: list[GraphQLError], request_id: str | None) -> list[GraphQLError]:
    return [mask_error(error, request_id) for error in errors]


class _KnownErrorsFilter(logging.Filter):
    """Drop strawberry's ERROR records of expected, coded errors (bad input, limits,
    auth); unexpected ones are still logged, without the document's text, and again here
    with the request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.msg
        if not isinstance(error, GraphQLError):
            return True
        known = (error.extensions or {}).get("code") is not None
        if known and (
            error.original_error is None or isinstance(error.original_error, GraphQLError)
        ):
            return False
        # str(error) quotes the document around the error's location, literals and all:
        # the record keeps the message and the path only.
        record.msg = f"{error.message} (at {error.path})"
        record.args = ()
        return True


def quiet_known_errors() -> None:
    """Install the filter once on strawberry's execution logger."""
    strawberry_logger = logging.getLogger("strawberry.execution")
    if not any(isinstance(f, _KnownErrorsFilter) for f in strawberry_logger.filters):
        strawberry_logger.addFilter(_KnownErrorsFilter())
