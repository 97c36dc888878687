"""A small fake of ConnectWise Manage's REST API 3.0, for tests over real HTTP.

It speaks the three push endpoints plus the company-info look-up, checks Basic auth and
the clientId header like ConnectWise does, keeps a little ticket state (so unknown
tickets 404 and wrong status ids fail on `status/id`), records every request it
receives, and can be scripted to misbehave: error bodies, 429 with Retry-After,
a 500 "timeout", or an answer slower than the client's timeout.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
LAST_UPDATED_BASE = datetime(2025, 2, 1, 9, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class RecordedRequest:
    """One request exactly as the fake received it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    request_id: str  # the x-cw-request-id the fake answered with


@dataclass(frozen=True)
class Scripted:
    """What to do with the next API request instead of (or before) the normal answer.

    `status=None` means: wait `delay` seconds, then answer normally.
    """

    status: int | None = None
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


def cw_error(
    status: int, code: str, message: str, errors: list[dict[str, Any]] | None = None
) -> Scripted:
    """An answer with ConnectWise's error body shape."""
    body: dict[str, Any] = {"code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    return Scripted(status=status, body=body)


def rate_limited(retry_after: str | None = "1") -> Scripted:
    """The CDN's 429, with or without Retry-After."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Scripted(status=429, body={"message": "Too Many Requests"}, headers=headers)


def server_timeout() -> Scripted:
    """The 500 ConnectWise gives when its own back end timed out."""
    return cw_error(500, "UnexpectedServerError", "The operation has timed out.")


def slow(seconds: float) -> Scripted:
    """Answer normally, but only after `seconds`."""
    return Scripted(status=None, delay=seconds)


@dataclass
class FakeTicket:
    board_statuses: frozenset[int]
    status_id: int
    updates: int = 0


class FakeConnectWise:
    """State and ASGI app of the fake; one instance serves a whole test session."""

    def __init__(
        self,
        *,
        company_id: str = "flowpilot_test",
        public_key: str = "pubKEY123",
        private_key: str = "privSECRET-9f8e7d",
        client_id: str = "8c1d8b0e-2f4a-4a44-9d39-0d6f2d5c7a11",
        codebase: str = "v4_6_release",
    ) -> None:
        self.company_id = company_id
        self.public_key = public_key
        self.private_key = private_key
        self.client_id = client_id
        self.codebase = codebase
        self.base_url = ""  # set once the server listens
        self._lock = threading.Lock()
        self._generation = 0
        self.requests: list[RecordedRequest] = []
        self._script: deque[Scripted] = deque()
        self._ids = itertools.count(1001)
        self.tickets: dict[int, FakeTicket] = {}
        self.reset()
        api = f"/{codebase}/apis/3.0"
        self.app = Starlette(
            routes=[
                Route(f"{api}/time/entries", self._wrap(self._time_entry), methods=["POST"]),
                Route(
                    api + "/service/tickets/{ticket:int}/notes",
                    self._wrap(self._note),
                    methods=["POST"],
                ),
                Route(
                    api + "/service/tickets/{ticket:int}",
                    self._wrap(self._patch_ticket),
                    methods=["PATCH"],
                ),
                Route("/login/companyinfo/{company}", self._company_info, methods=["GET"]),
                Route(
                    "/{rest:path}",
                    self._wrap(self._unknown),
                    methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
                ),
            ]
        )

    # -- test-facing API ----------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The base URL a provider should use: `http://127.0.0.1:{port}/{codebase}/apis/3.0/`."""
        return f"{self.base_url}/{self.codebase}/apis/3.0/"

    def reset(self) -> None:
        """Forget requests and scripts; tickets 100 and 200 exist, on different boards."""
        with self._lock:
            self._generation += 1
            self.requests.clear()
            self._script.clear()
            self._ids = itertools.count(1001)
            self.tickets = {
                100: FakeTicket(board_statuses=frozenset({16, 17, 564}), status_id=16),
                200: FakeTicket(board_statuses=frozenset({30, 31}), status_id=30),
            }

    def script(self, *answers: Scripted) -> None:
        """Queue answers for the next API requests, in order, one per request."""
        with self._lock:
            self._script.extend(answers)

    def expected_authorization(self) -> str:
        raw = f"{self.company_id}+{self.public_key}:{self.private_key}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    # -- request handling -----------------------------------------------------------

    def _wrap(
        self, handler: Callable[[Request, Any], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            request_id = str(uuid.uuid4())
            with self._lock:
                generation = self._generation
                self.requests.append(
                    RecordedRequest(
                        method=request.method,
                        path=request.url.path,
                        headers={k.lower(): v for k, v in request.headers.items()},
                        body=body,
                        raw_body=raw,
                        request_id=request_id,
                    )
                )
                scripted = self._script.popleft() if self._script else None
            response = await self._answer(request, body, scripted, handler, generation)
            response.headers["x-cw-request-id"] = request_id
            return response

        return endpoint

    async def _answer(
        self,
        request: Request,
        body: Any,
        scripted: Scripted | None,
        handler: Callable[[Request, Any], Awaitable[Response]],
        generation: int,
    ) -> Response:
        if request.headers.get("authorization") != self.expected_authorization():
            return _error(401, "Unauthorized", "Incorrect public/private key")
        if request.headers.get("clientid") != self.client_id:
            return _error(401, "Unauthorized", "clientId is missing or not recognised")
        if scripted is not None:
            if scripted.delay:
                await asyncio.sleep(scripted.delay)
                if generation != self._generation:
                    # The test that sent it is over: answer without touching state.
                    return _error(503, "ServiceUnavailable", "fake was reset")
            if scripted.status is not None:
                return JSONResponse(
                    scripted.body, status_code=scripted.status, headers=dict(scripted.headers)
                )
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return _error(415, "UnsupportedMediaType", "Content-Type must be application/json")
        return await handler(request, body)

    async def _time_entry(self, request: Request, body: Any) -> Response:
        problems = []
        if not isinstance(body, dict):
            return _error(400, "InvalidObject", "Body must be a JSON object")
        if body.get("chargeToType") != "ServiceTicket":
            problems.append(("chargeToType", "Charge to type is required"))
        ticket = body.get("chargeToId")
        if not isinstance(ticket, int) or ticket not in self.tickets:
            return _error(404, "NotFound", f"Ticket {ticket} not found")
        for name in ("timeStart", "timeEnd"):
            value = body.get(name)
            if not isinstance(value, str) or not DATE_RE.match(value):
                problems.append((name, f"{name} must be YYYY-MM-DDTHH:MM:SSZ"))
        if not isinstance(body.get("member"), dict) or "id" not in body["member"]:
            problems.append(("member", "Member is required"))
        if problems:
            return _invalid(problems, resource="TimeEntry")
        return JSONResponse({**body, "id": self._next_id()}, status_code=201)

    async def _note(self, request: Request, body: Any) -> Response:
        ticket = request.path_params["ticket"]
        if ticket not in self.tickets:
            return _error(404, "NotFound", f"Ticket {ticket} not found")
        if not isinstance(body, dict) or not body.get("text"):
            return _invalid([("text", "Text is required")], resource="ServiceNote")
        flags = ("detailDescriptionFlag", "internalAnalysisFlag", "resolutionFlag")
        if not any(body.get(flag) is True for flag in flags):
            return _invalid(
                [("detailDescriptionFlag", "Please choose where to display the notes")],
                resource="ServiceNote",
            )
        return JSONResponse({**body, "id": self._next_id(), "ticketId": ticket}, status_code=201)

    async def _patch_ticket(self, request: Request, body: Any) -> Response:
        ticket_id = request.path_params["ticket"]
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            return _error(404, "NotFound", f"Ticket {ticket_id} not found")
        ops = body if isinstance(body, list) else []
        for op in ops:
            if not (isinstance(op, dict) and op.get("op") == "replace"):
                return _invalid([("op", "Only replace is supported here")], resource="Ticket")
            if op.get("path") != "status/id":
                return _invalid([(str(op.get("path")), "Unsupported path")], resource="Ticket")
            if op.get("value") not in ticket.board_statuses:
                return _invalid(
                    [("status/id", "Status not found on the ticket's board")], resource="Ticket"
                )
        if not ops:
            return _invalid([("patch", "Patch operations are required")], resource="Ticket")
        with self._lock:
            ticket.status_id = ops[-1]["value"]
            ticket.updates += 1
            updated = LAST_UPDATED_BASE + timedelta(seconds=ticket.updates)
        return JSONResponse(
            {
                "id": ticket_id,
                "status": {"id": ticket.status_id},
                "_info": {"lastUpdated": updated.strftime("%Y-%m-%dT%H:%M:%SZ")},
            },
            status_code=200,
        )

    async def _unknown(self, request: Request, body: Any) -> Response:
        return _error(404, "NotFound", f"No route {request.method} {request.url.path}")

    async def _company_info(self, request: Request) -> Response:
        if request.path_params["company"].lower() != self.company_id.lower():
            return JSONResponse({"CompanyName": None, "Codebase": None}, status_code=200)
        return JSONResponse(
            {"CompanyName": "FlowPilot Test MSP", "Codebase": f"{self.codebase}/"},
            status_code=200,
        )

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "errors": []}, status_code=status)


def _invalid(problems: list[tuple[str, str]], *, resource: str) -> JSONResponse:
    errors = [
        {"code": "InvalidField", "message": msg, "resource": resource, "field": name}
        for name, msg in problems
    ]
    return JSONResponse(
        {"code": "InvalidObject", "message": f"{resource} object is invalid", "errors": errors},
        status_code=400,
    )


@contextlib.contextmanager
def serve(fake: FakeConnectWise) -> Iterator[str]:
    """Run the fake under uvicorn on 127.0.0.1 (a free port) in a thread; yield its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        fake.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="fake-connectwise", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("fake ConnectWise server did not start")
        time.sleep(0.01)
    fake.base_url = f"http://127.0.0.1:{port}"
    try:
        yield fake.base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
