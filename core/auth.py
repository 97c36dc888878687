"""Bearer-token authentication: JWTs whose claims name the user, account and role.

HS256 tokens are verified with AUTH_JWT_SECRET; with AUTH_JWKS_URL, RS256 and ES256
tokens are verified with the identity provider's key (core/jwks.py finds it).

The account a request may see comes from the verified token only, never from an
argument, so no query can name another tenant.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from jwt import PyJWK

from core.settings import Settings

ROLES = ("engineer", "team_admin", "admin", "service")
# The identity provider's algorithms (AUTH_JWKS_URL); HS256 is the secret's.
PROVIDER_ALGORITHMS = ("RS256", "ES256")
ANALYTICS_ROLES = frozenset({"team_admin", "admin"})
# Clocks of the issuer and of this service may differ by this much (exp, iat, nbf).
CLOCK_SKEW = timedelta(minutes=5)
logger = logging.getLogger("flowpilot.auth")


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


def _decode(token: str, settings: Settings, key: PyJWK | None) -> dict[str, Any]:
    """PyJWT's checks (signature, exp, iat, nbf, iss, aud) with the clock-skew leeway:
    HS256 with the secret, or the provider's algorithm with its `key`."""
    if key is not None and key.algorithm_name not in PROVIDER_ALGORITHMS:
        raise AuthenticationError("the JWKS key of this token is not an RS256 or ES256 key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.jwt_secret if key is None else key,
            algorithms=["HS256"] if key is None else [key.algorithm_name],
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway=CLOCK_SKEW,
            options={
                "require": ["exp", "account_id", "role"],
                "verify_aud": settings.jwt_audience is not None,
            },
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationError("token has expired") from None
    except jwt.ImmatureSignatureError:
        raise AuthenticationError("token is not valid yet (iat or nbf in the future)") from None
    except jwt.MissingRequiredClaimError as error:
        raise AuthenticationError(f"token has no {error.claim} claim") from None
    except (jwt.InvalidTokenError, ValueError, TypeError, OverflowError) as error:
        # PyJWT's messages quote decoder internals; the client learns only that it failed.
        logger.info("token refused: %s: %s", type(error).__name__, error)
        raise AuthenticationError("invalid token") from None
    return claims


def _check_lifetime(claims: dict[str, Any], settings: Settings) -> None:
    """A token may not live longer than the setting allows, counted from `iat` (or now)."""
    issued_at = claims.get("iat", datetime.now(UTC).timestamp())
    lifetime = float(claims["exp"]) - float(issued_at)  # both passed PyJWT's int() check
    if not lifetime <= settings.jwt_max_lifetime_s + CLOCK_SKEW.total_seconds():
        raise AuthenticationError(
            f"token lifetime exceeds the limit of {settings.jwt_max_lifetime_s:g} s"
        )


def verify_token(token: str, settings: Settings, key: PyJWK | None = None) -> Principal:
    """Verify signature, expiry, issue time, lifetime and optional issuer/audience; return
    the caller. Every failure is an AuthenticationError whose message is safe to show.
    `key`: the identity provider's key of an RS256/ES256 token (else HS256, the secret)."""
    claims = _decode(token, settings, key)
    _check_lifetime(claims, settings)
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
    if lifetime.total_seconds() > settings.jwt_max_lifetime_s:
        raise ValueError(
            f"lifetime must be at most AUTH_JWT_MAX_LIFETIME_S ({settings.jwt_max_lifetime_s:g} s)"
        )
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
