"""Persisted queries: Apollo's automatic persisted queries (APQ) and a safelist mode.

A client may send only `extensions.persistedQuery.sha256Hash` (version 1). When the
hash is known the stored text runs; otherwise the answer is `PERSISTED_QUERY_NOT_FOUND`
and the client retries with hash and text, which are checked against each other and
remembered (in-process LRU bounded in entries and in bytes). The `queries/` documents are
always known: they are the first-party operations. In safelist mode nothing else runs, by
hash or by text.

Only an authenticated caller registers, and what it registers is kept for its account
alone: an anonymous client cannot fill the store, and no account can find out by hash
which texts another one sent.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from core.error_codes import ErrorCode
from core.errors import ApiError, BadUserInput
from queries import operation_documents

APQ_VERSION = 1


class PersistedQueryNotFound(ApiError):
    """The hash is unknown here; Apollo clients answer by resending with the text."""

    code = ErrorCode.PERSISTED_QUERY_NOT_FOUND


class PersistedQueryNotAllowed(ApiError):
    """Safelist mode: the operation is not one of the first-party documents."""

    code = ErrorCode.PERSISTED_QUERY_NOT_ALLOWED


def sha256_hex(query: str) -> str:
    """The hash APQ clients send: SHA-256 of the exact UTF-8 text, lower-case hex.

    A text with no UTF-8 form (a lone surrogate, which JSON's \\u escapes can carry) has
    no such hash: BadUserInput."""
    try:
        encoded = query.encode("utf-8")
    except UnicodeEncodeError:
        raise BadUserInput("query is not valid Unicode text (a lone surrogate)") from None
    return hashlib.sha256(encoded).hexdigest()


def first_party_documents() -> dict[str, str]:
    """The `queries/` documents (tabs and mutations) by hash."""
    return {sha256_hex(text): text for text in operation_documents().values()}


def _requested_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """The hash of `extensions.persistedQuery`, or None when the request has none."""
    if not extensions or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, Mapping):
        raise BadUserInput("extensions.persistedQuery must be an object")
    if persisted.get("version") != APQ_VERSION:
        raise BadUserInput(f"persisted query version must be {APQ_VERSION}")
    sha = persisted.get("sha256Hash")
    if isinstance(sha, str):  # GraphQL Code Generator's client preset prefixes its hashes
        sha = sha.removeprefix("sha256:")
    if not isinstance(sha, str) or len(sha) != 64:
        raise BadUserInput("persistedQuery.sha256Hash must be a SHA-256 hex digest")
    return sha.lower()


class PersistedQueries:
    """Turns a request's (query, extensions) into the text to run, or refuses it."""

    def __init__(
        self,
        *,
        safelist: bool = False,
        capacity: int = 1000,
        capacity_bytes: int = 4 * 1024 * 1024,
        known: Mapping[str, str] | None = None,
    ) -> None:
        self.safelist = safelist
        self.capacity = max(capacity, 0)
        self.capacity_bytes = max(capacity_bytes, 0)
        # The first-party documents stay known beside any manifest: they are the API's own
        # operations, which its pages (insights, CSV export) send as the files hold them.
        self.known = {**first_party_documents(), **(known or {})}
        self._learned: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def stored_bytes(self) -> int:
        """Bytes of registered texts held now (the bound is `capacity_bytes`)."""
        return self._bytes

    def resolve(
        self, query: str | None, extensions: Mapping[str, Any] | None, owner: str | None
    ) -> str | None:
        """The query text to execute; raises an ApiError with the code the client needs.

        `owner` is the caller's account id (None without a verified token): registered texts
        are stored and found under it only."""
        sha = _requested_hash(extensions)
        if sha is None:
            if self.safelist and query is not None and sha256_hex(query) not in self.known:
                raise PersistedQueryNotAllowed("only the first-party operations are accepted")
            return query
        if query is None:
            return self._lookup(sha, owner)
        if sha256_hex(query) != sha and self.known.get(sha) != query:  # manifest ids may differ
            raise BadUserInput("provided sha256Hash does not match the query")
        if sha not in self.known:
            if self.safelist:
                raise PersistedQueryNotAllowed("only the first-party operations are accepted")
            if owner is not None:
                self._remember((owner, sha), query)
        return query

    def _lookup(self, sha: str, owner: str | None) -> str:
        text = self.known.get(sha)
        if text is not None:
            return text
        if owner is not None:
            with self._lock:
                text = self._learned.get((owner, sha))
                if text is not None:
                    self._learned.move_to_end((owner, sha))
                    return text
        if self.safelist:
            raise PersistedQueryNotAllowed("only the first-party operations are accepted")
        raise PersistedQueryNotFound("PersistedQueryNotFound")

    def _remember(self, key: tuple[str, str], query: str) -> None:
        size = _size(query)
        if self.capacity == 0 or size > self.capacity_bytes:
            return
        with self._lock:
            previous = self._learned.pop(key, None)
            if previous is not None:
                self._bytes -= _size(previous)
            self._learned[key] = query
            self._bytes += size
            while len(self._learned) > self.capacity or self._bytes > self.capacity_bytes:
                _, evicted = self._learned.popitem(last=False)
                self._bytes -= _size(evicted)


def _size(query: str) -> int:
    """What a stored text costs in memory, roughly: its UTF-8 bytes."""
    return len(query.encode("utf-8"))
