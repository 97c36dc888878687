"""One request as it passes the pipeline, built once and filled in step by step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from core.auth import Principal
from service.pipeline.served_context import ServedContext
from service.response_cache.cache import Ticket


@dataclass
class RequestState:
    """What the steps learn, each once: the caller (read), the context (authenticate), the
    deadline (admit), the document (resolve), the cache's decision (look up).

    `kind` is the cache's kind of answer: "graphql" (JSON) or "csv" (the export).
    """

    request: Request
    kind: str
    query: str | None
    operation_name: str | None
    variables: dict[str, Any] | None
    extensions: dict[str, Any] | None = None
    principal: Principal | None = None
    account_id: str | None = None  # the principal's account, as the limits key it
    auth_error: str | None = None
    context: ServedContext | None = None
    deadline: float | None = None  # the event loop's time the request's timeout ends at
    ticket: Ticket = field(default_factory=Ticket)

    @property
    def account(self) -> str:
        assert self.account_id is not None
        return self.account_id
