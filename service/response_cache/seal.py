"""Sealed entries: what the shared tier holds is only served if this service wrote it.

Redis is outside the API's trust: anyone who can write to it could otherwise plant an
answer under a tenant's key, or move another tenant's answer there. Every value is
sealed with an HMAC-SHA256 over the cache key and the value, with a key the workers
share and Redis never holds (`ANALYTICS_CACHE_SIGNING_KEY`, else one derived from the
token secret). A value that does not open under its own key is refused, never served.
"""

from __future__ import annotations

import hashlib
import hmac

from service.response_cache.entry import Entry

_VERSION = b"v1"
_DERIVATION_LABEL = b"flowpilot-analytics response cache seal v1"


class ForgedEntry(ValueError):
    """A stored value that this service did not write under this key."""


def derived_key(secret: str) -> bytes:
    """A sealing key derived from a secret the workers already share (the token secret):
    a separate key, so neither can be learnt from the other's use."""
    return hmac.new(secret.encode(), _DERIVATION_LABEL, hashlib.sha256).digest()


class EntrySeal:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, cache_key: str, payload: bytes) -> bytes:
        message = cache_key.encode() + b"\x00" + payload
        return hmac.new(self._key, message, hashlib.sha256).hexdigest().encode()

    def seal(self, cache_key: str, entry: Entry) -> bytes:
        """`v1 <mac>\\n<entry>`: the entry bound to the key it is stored under."""
        payload = entry.encode()
        return _VERSION + b" " + self._mac(cache_key, payload) + b"\n" + payload

    def open(self, cache_key: str, raw: bytes) -> Entry:
        """The entry, when `raw` was sealed by this key for `cache_key`; else ForgedEntry."""
        head, _, payload = raw.partition(b"\n")
        version, _, mac = head.partition(b" ")
        if version != _VERSION or not hmac.compare_digest(mac, self._mac(cache_key, payload)):
            raise ForgedEntry("the stored value's seal does not match its key")
        try:
            return Entry.decode(payload)
        except ValueError as error:  # sealed, so ours: but never a 500 for it
            raise ForgedEntry("the stored value does not decode") from error
