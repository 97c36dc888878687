"""HTTP-level limits: a cap on the request body, and GraphQL-style JSON for HTTP refusals.

The body cap is pure ASGI: a declared Content-Length over the limit is refused before
reading, and a chunked body is counted as it arrives, so a huge body is never buffered.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.error_codes import ErrorCode
from service.http.request_id import current_request_id

_CODES_BY_STATUS = {
    400: ErrorCode.BAD_REQUEST,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
}


def error_body(message: str, code: str, **extensions: Any) -> bytes:
    """A GraphQL-shaped error document (`{"errors": [...]}`) with a code and request id."""
    ext: dict[str, Any] = {"code": code, **extensions}
    request_id = current_request_id()
    if request_id is not None:
        ext["requestId"] = request_id
    return json.dumps({"errors": [{"message": message, "extensions": ext}]}).encode()


def code_for_status(status: int) -> str:
    return _CODES_BY_STATUS.get(status, ErrorCode.BAD_REQUEST)


class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` with 413 and a JSON error."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._refuse(send)
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = error_body(
            f"request body is larger than {self.max_bytes} bytes",
            ErrorCode.PAYLOAD_TOO_LARGE,
            maxBytes=self.max_bytes,
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def json_refusal(status: int, message: str) -> Response:
    """An HTTP refusal of the GraphQL endpoint, shaped as a GraphQL error document."""
    return Response(
        error_body(message, code_for_status(status)),
        status_code=status,
        media_type="application/json",
    )
