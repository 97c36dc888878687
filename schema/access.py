"""Deny by default: every root field needs a verified caller with an allowed role.

The schema builder attaches `RequireRoles` to every Query field that does not carry
one already, so a field added later without a check is still closed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.types import Info

from core.auth import ANALYTICS_ROLES
from core.errors import Forbidden


class RequireRoles(FieldExtension):
    """Refuse the field unless the caller's role is one of `roles`."""

    def __init__(self, roles: frozenset[str] = ANALYTICS_ROLES) -> None:
        super().__init__()
        self.roles = roles

    def _check(self, info: Info[Any, Any]) -> None:
        principal = info.context.require_principal()
        if principal.role not in self.roles:
            raise Forbidden(
                f"this field needs one of the roles {', '.join(sorted(self.roles))}",
            )

    def resolve(
        self, next_: Callable[..., Any], source: Any, info: Info[Any, Any], **kwargs: Any
    ) -> Any:
        self._check(info)
        return next_(source, info, **kwargs)

    async def resolve_async(
        self,
        next_: Callable[..., Awaitable[Any]],
        source: Any,
        info: Info[Any, Any],
        **kwargs: Any,
    ) -> Any:
        self._check(info)
        return await next_(source, info, **kwargs)


def guard_root_fields(root: type, roles: frozenset[str] = ANALYTICS_ROLES) -> None:
    """Attach `RequireRoles(roles)` to every field of `root` that has no role check yet."""
    for field in root.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        if not any(isinstance(extension, RequireRoles) for extension in field.extensions):
            field.extensions.append(RequireRoles(roles))
