"""The identity provider's signing keys (AUTH_JWKS_URL), for RS256 and ES256 tokens.

PyJWT's `PyJWKClient` fetches the JWKS, keeps it for AUTH_JWKS_CACHE_S and fetches it
again when a token names a key (`kid`) it does not list (a rotation), at most once per
cool-down. Its fetch blocks, so it runs in a thread, never on the event loop: a slow
identity provider delays only the requests that need a key not seen yet, and those by
at most about AUTH_JWKS_TIMEOUT_S. Keys already seen are served from memory without a
thread. One fetch runs at a time; after a failed one, requests that need an unknown key
are refused at once for a few seconds rather than each waiting out the timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import jwt
from jwt import PyJWK, PyJWKClient
from jwt.exceptions import PyJWKClientConnectionError, PyJWKClientError, PyJWKError

from core.auth import PROVIDER_ALGORITHMS, AuthenticationError

# A token naming an unknown key fetches the JWKS again at most this often per worker.
REFRESH_COOLDOWN_S = 2.0
# After a failed fetch, unknown keys are refused at once for this long.
RETRY_AFTER_FAILURE_S = 5.0
logger = logging.getLogger("flowpilot.auth")


class JwksKeys:
    """Signing keys by `kid`, fetched in one background thread, remembered while fresh."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float,
        cache_s: float,
        cooldown_s: float | None = None,
        retry_after_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = PyJWKClient(
            url, cache_jwk_set=True, lifespan=cache_s, timeout=timeout_s,
            cooldown_duration=REFRESH_COOLDOWN_S if cooldown_s is None else cooldown_s,
        )  # fmt: skip
        # A fetch may be two requests (the cached set expired, then the refresh for an
        # unknown kid), each bounded by the timeout; a request waits no longer than that.
        self._wait_s = 2 * timeout_s + 0.5
        self._cache_s = cache_s
        self._retry_after_s = RETRY_AFTER_FAILURE_S if retry_after_s is None else retry_after_s
        self._clock = clock
        self._keys: dict[str, tuple[PyJWK, float]] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jwks")
        self._inflight: asyncio.Future[PyJWK] | None = None
        self._failed_until = 0.0

    async def key_for(self, token: str) -> PyJWK:
        """The key that signed `token` (by its `kid`); AuthenticationError when the JWKS
        does not list it or cannot be fetched."""
        kid = _kid(token)
        now = self._clock()
        known = self._keys.get(kid)
        if known is not None and now - known[1] < self._cache_s:
            return known[0]
        if now < self._failed_until:
            if known is not None:
                return known[0]  # the provider is down: keep the key we had
            raise _unavailable()
        try:
            return await self._fetched(kid)
        except AuthenticationError:
            if known is not None and now < self._failed_until:
                return known[0]
            raise

    async def _fetched(self, kid: str) -> PyJWK:
        """PyJWKClient's lookup (cache, refresh on an unknown kid) in the JWKS thread; one
        at a time, so a request arriving during another's fetch waits for that one first."""
        while self._inflight is not None and not self._inflight.done():
            try:
                async with asyncio.timeout(self._wait_s):
                    await asyncio.shield(self._inflight)
            except TimeoutError:
                raise _unavailable() from None
            except Exception:  # that request's outcome, not ours: look again
                pass
            known = self._keys.get(kid)
            if known is not None:
                return known[0]
            if self._clock() < self._failed_until:
                raise _unavailable()  # that fetch failed: no second one right behind it
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._client.get_signing_key, kid)
        self._inflight = future
        future.add_done_callback(partial(self._settled, kid))
        try:
            async with asyncio.timeout(self._wait_s):
                key = await asyncio.shield(future)
        except TimeoutError:
            self._failed(f"no answer within {self._wait_s:g} s")
            raise _unavailable() from None
        except PyJWKClientConnectionError as error:
            self._failed(str(error))
            raise _unavailable() from None
        except (PyJWKClientError, PyJWKError):
            # Not listed (or a JWKS without usable keys): the token's problem, not an outage.
            raise AuthenticationError("token is signed with a key the JWKS does not list") from None
        if self._failed_until:
            logger.warning("JWKS answers again")
            self._failed_until = 0.0
        self._keys[kid] = (key, self._clock())
        return key

    def _settled(self, kid: str, future: asyncio.Future[PyJWK]) -> None:
        """Keep the key a fetch found even when its request stopped waiting; take its
        error, so none is reported as never retrieved."""
        if not future.cancelled() and future.exception() is None:
            self._keys[kid] = (future.result(), self._clock())

    def _failed(self, reason: str) -> None:
        if not self._failed_until:
            logger.warning("JWKS fetch failed (%s); unknown keys refused for a while", reason)
        self._failed_until = self._clock() + self._retry_after_s

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _kid(token: str) -> str:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise AuthenticationError("invalid token") from None
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise AuthenticationError("token has no kid header (the key that signed it)")
    return kid


def _unavailable() -> AuthenticationError:
    return AuthenticationError(
        "the identity provider's keys (JWKS) cannot be fetched now; retry shortly"
    )


def signed_by_provider(token: str) -> bool:
    """True when `token`'s header names an identity provider's algorithm (RS256, ES256):
    its key comes from the JWKS; anything else is verified with AUTH_JWT_SECRET."""
    try:
        return jwt.get_unverified_header(token).get("alg") in PROVIDER_ALGORITHMS
    except jwt.InvalidTokenError:
        return False
