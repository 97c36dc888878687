"""The per-request context: who is asking, the request's fixed clock, its snapshot and
its loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.auth import Principal
from core.errors import Unauthenticated
from core.settings import Settings
from persistence.snapshot import ReadSnapshot
from resolvers.dataloaders.registry import Loaders


@dataclass
class RequestContext:
    """Built once per request; `now` is fixed here so every field sees the same window,
    and every read goes through one snapshot, so every field sees the same data."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    read_sessionmaker: async_sessionmaker[AsyncSession]
    principal: Principal | None
    auth_error: str | None = None
    request: Any = None
    response: Any = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    _loaders: Loaders | None = None
    # What the document selects where, worked out once per request (schema.selection).
    selection_cache: dict[tuple[object, ...], Any] = field(default_factory=dict)

    @property
    def loaders(self) -> Loaders:
        """The request's loaders, bound to the caller's account (made on first use)."""
        if self._loaders is None:
            principal = self.require_principal()
            snapshot = ReadSnapshot(self.read_sessionmaker, principal.account_id)
            self._loaders = Loaders(snapshot)
        return self._loaders

    async def close(self) -> None:
        """End the request's snapshot (commit the read-only transaction) and release what
        its loaders hold; idempotent."""
        if self._loaders is not None:
            await self._loaders.snapshot.close()
            self._loaders.release()

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated(self.auth_error or "authentication required")
        return self.principal


Info = strawberry.Info[RequestContext, None]
