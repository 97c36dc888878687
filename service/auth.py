"""Bearer-token authentication: HS256 JWTs whose claims name the user, account and role.

The account a request may see comes from the verified token only, never from an
argument, so no query can name another tenant.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from service.settings import Settings

ROLES = ("engineer", "team_admin", "admin", "service")
ANALYTICS_ROLES = frozenset({"team_admin", "admin"})
_MAX_IAT_SKEW = timedelta(minutes=5)


class AuthenticationError(Exception):
    """The request carries no usable token; the message is safe to show the client."""


@dataclass(frozen=True)
class Principal:
    """The verified caller."""

    user_id: uuid.UUID | None
    account_id: uuid.UUID
    role: str


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if there is one."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _uuid_claim(claims: dict[str, Any], name: str, *, required: bool) -> uuid.UUID | None:
    raw = claims.get(name)
    if raw is None:
        if required:
            raise AuthenticationError(f"token has no {name} claim")
        return None
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise AuthenticationError(f"token claim {name} is not a UUID") from None


def verify_token(token: str, settings: Settings) -> Principal:
    """Verify signature, expiry and optional issuer/audience; return the caller."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=["HS256"],
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            options={
                "require": ["exp", "account_id", "role"],
                "verify_aud": settings.jwt_audience is not None,
            },
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationError("token has expired") from None
    except jwt.InvalidTokenError as error:
        raise AuthenticationError(f"invalid token: {error}") from None
    issued_at = claims.get("iat")
    if (
        isinstance(issued_at, int | float)
        and datetime.fromtimestamp(issued_at, UTC) > datetime.now(UTC) + _MAX_IAT_SKEW
    ):
        raise AuthenticationError("token is issued in the future")
    role = claims.get("role")
    if role not in ROLES:
        raise AuthenticationError("token role is not one of " + ", ".join(ROLES))
    account_id = _uuid_claim(claims, "account_id", required=True)
    assert account_id is not None
    return Principal(
        user_id=_uuid_claim(claims, "sub", required=False), account_id=account_id, role=role
    )


def issue_token(
    settings: Settings,
    *,
    account_id: uuid.UUID,
    role: str,
    user_id: uuid.UUID | None = None,
    lifetime: timedelta = timedelta(hours=12),
) -> str:
    """Sign a token with the configured secret (CLI `token`, demo mode and tests)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "account_id": str(account_id),
        "role": role,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    if user_id is not None:
        claims["sub"] = str(user_id)
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
