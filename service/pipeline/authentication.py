"""Who is asking: the bearer token verified once, and remembered while it stays valid."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections import OrderedDict

from core.auth import CLOCK_SKEW, AuthenticationError, Principal, bearer_token, verify_token
from core.jwks import JwksKeys, signed_by_provider
from core.settings import Settings

logger = logging.getLogger("flowpilot.auth")


async def authenticate(
    authorization: str | None, settings: Settings, tokens: VerifiedTokens | None = None
) -> tuple[Principal | None, str | None]:
    """The verified caller, or None with the reason a client may see."""
    token = bearer_token(authorization)
    if token is None:
        return None, "authentication required: send Authorization: Bearer <token>"
    try:
        if tokens is not None:
            return await tokens.verify_async(token), None
        return verify_token(token, settings), None
    except AuthenticationError as error:
        return None, str(error)
    except Exception:  # a token must never turn into a 500, whatever it holds
        logger.exception("token verification failed unexpectedly")
        return None, "invalid token"


class VerifiedTokens:
    """Tokens accepted lately, so a dashboard's repeated requests check a signature once.

    Whether a token is accepted depends on the token, the settings and the clock, and on
    the clock monotonically: `iat`/`nbf` once passed stay passed, the lifetime check only
    gets easier, and `exp` (plus the leeway) ends it. So a token accepted at `t` is
    accepted at every instant from `t` until `exp` + leeway with the same principal: an
    entry serves only that window (anything else, a clock set back included, verifies
    afresh). Refusals are not kept. Keyed by the whole token text, LRU-bounded.

    An identity provider's token (RS256/ES256, with AUTH_JWKS_URL) is remembered the same
    way; a key rotated out of the JWKS does not end it early (nor would it for a token
    verified with a key cached before the rotation): revocation is the token's `exp`.
    """

    def __init__(self, settings: Settings, capacity: int = 10_000) -> None:
        self.settings = settings
        self.capacity = capacity
        self._accepted: OrderedDict[str, tuple[Principal, float, float]] = OrderedDict()
        self.jwks: JwksKeys | None = None
        if settings.jwks_url is not None:
            self.jwks = JwksKeys(
                settings.jwks_url, timeout_s=settings.jwks_timeout_s, cache_s=settings.jwks_cache_s
            )

    def verify(self, token: str) -> Principal:
        """`verify_token(token, settings)`, remembered; raises as it does (HS256 only: an
        identity provider's token needs `verify_async`, which may fetch its key)."""
        known = self._remembered(token)
        if known is not None:
            return known
        return self._remember(token, verify_token(token, self.settings))

    async def verify_async(self, token: str) -> Principal:
        """As `verify`, with the identity provider's key for an RS256/ES256 token (fetched
        off the event loop when not known yet)."""
        known = self._remembered(token)
        if known is not None:
            return known
        if self.jwks is None or not signed_by_provider(token):
            return self._remember(token, verify_token(token, self.settings))
        key = await self.jwks.key_for(token)
        return self._remember(token, verify_token(token, self.settings, key))

    def _remembered(self, token: str) -> Principal | None:
        now = time.time()
        known = self._accepted.get(token)
        if known is not None:
            principal, accepted_at, until = known
            if accepted_at <= now < until:
                self._accepted.move_to_end(token)  # least recently used goes first
                return principal
            del self._accepted[token]
        return None

    def _remember(self, token: str, principal: Principal) -> Principal:
        now = time.time()
        until = _expiry(token) + CLOCK_SKEW.total_seconds()
        if now < until:
            self._accepted[token] = (principal, now, until)
            if len(self._accepted) > self.capacity:
                self._accepted.popitem(last=False)
        return principal

    def close(self) -> None:
        if self.jwks is not None:
            self.jwks.close()


def _expiry(token: str) -> float:
    """`exp` of a token that verify_token accepted (so well-formed, with a numeric exp)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return float(claims["exp"])
