"""ConnectWise API credentials, and Fernet encryption of the secrets we store at rest.

The private key is never part of `repr`/`str`: credentials end up in logs, tracebacks
and debugger output far more often than anyone intends.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.secret_files import SecretFileError, secret_value
from psa.errors import PsaConfigurationError

SECRET_KEY_ENV = "PSA_SECRET_KEY"


@dataclass(frozen=True, repr=False)
class ConnectWiseCredentials:
    """One tenant's ConnectWise Manage API member keys and the integration's clientId."""

    site: str
    codebase: str
    company_id: str
    public_key: str
    private_key: str = field(repr=False)
    client_id: str

    def __post_init__(self) -> None:
        for name in ("site", "company_id", "public_key", "private_key", "client_id"):
            if not getattr(self, name):
                raise PsaConfigurationError(f"ConnectWise credentials are missing {name}")

    def __repr__(self) -> str:
        return (
            f"ConnectWiseCredentials(site={self.site!r}, codebase={self.codebase!r}, "
            f"company_id={self.company_id!r}, public_key={self.public_key!r}, "
            f"private_key='***', client_id={self.client_id!r})"
        )

    __str__ = __repr__

    @classmethod
    def from_stored(
        cls,
        *,
        site: str,
        codebase: str,
        company_id: str,
        public_key: str,
        encrypted_private_key: str,
        client_id: str,
        account_id: uuid.UUID,
        secret_key: str | bytes | None = None,
    ) -> ConnectWiseCredentials:
        """Build credentials from `account_id`'s stored row; the key defaults to
        PSA_SECRET_KEY."""
        key = secret_key if secret_key is not None else secret_key_from_env()
        return cls(
            site=site,
            codebase=codebase,
            company_id=company_id,
            public_key=public_key,
            private_key=open_private_key(encrypted_private_key, key, account_id),
            client_id=client_id,
        )

    def authorization_header(self) -> str:
        """`Basic base64("{companyId}+{publicKey}:{privateKey}")`, as ConnectWise expects."""
        raw = f"{self.company_id}+{self.public_key}:{self.private_key}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


def secret_key_from_env(env: Mapping[str, str] | None = None) -> bytes:
    """Read and validate PSA_SECRET_KEY (or the file PSA_SECRET_KEY_FILE names): one
    Fernet key, or several separated by commas (the first encrypts, every one decrypts:
    that is how the key is rotated)."""
    environ = os.environ if env is None else env
    try:
        value = (secret_value(SECRET_KEY_ENV, environ) or "").strip()
    except SecretFileError as error:
        raise PsaConfigurationError(str(error)) from None
    if not value:
        raise PsaConfigurationError(
            f"{SECRET_KEY_ENV} is not set; generate one with "
            "`python -c 'from psa.credentials import new_secret_key; print(new_secret_key())'`"
        )
    return validate_secret_key(value)


def validate_secret_key(key: str | bytes) -> bytes:
    """Return the key list as bytes if every comma-separated part is a valid Fernet key
    (32 url-safe base64 bytes)."""
    raw = key.encode("ascii", "replace") if isinstance(key, str) else key
    _fernet(raw)
    return raw


def _fernet(keys: str | bytes) -> MultiFernet:
    raw = keys.encode("ascii", "replace") if isinstance(keys, str) else keys
    parts = [part.strip() for part in raw.split(b",")]
    try:
        if not all(parts):
            raise ValueError("empty key")
        return MultiFernet([Fernet(part) for part in parts])
    except (ValueError, TypeError):
        raise PsaConfigurationError(
            f"{SECRET_KEY_ENV} is not a valid Fernet key or comma-separated list of them "
            "(each 32 bytes, url-safe base64 encoded: 44 characters)"
        ) from None


def new_secret_key() -> str:
    """A fresh random key suitable for PSA_SECRET_KEY."""
    return Fernet.generate_key().decode("ascii")


def encrypt_secret(plain: str, key: str | bytes) -> str:
    """Encrypt (and authenticate) a secret with the first key of the list."""
    return _fernet(key).encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt_secret(token: str, key: str | bytes) -> str:
    """Decrypt a stored secret with any key of the list; a wrong key or tampered token
    raises PsaConfigurationError."""
    try:
        plain = _fernet(key).decrypt(token.encode("ascii", "replace"))
    except InvalidToken:
        raise PsaConfigurationError(
            "stored PSA secret cannot be decrypted: wrong PSA_SECRET_KEY or corrupted value"
        ) from None
    return plain.decode("utf-8")


# -- private keys bound to their account ---------------------------------------------------
#
# Fernet has no associated data, so the account id goes inside the encrypted payload:
# `flowpilot-psa:v1:{account_id}:{private key}`. Fernet's HMAC covers it, so it cannot be
# changed, and `open_private_key` refuses a token whose id is not the row's account: a
# ciphertext copied into another account's row (by SQL, a backup restore, a bug) does not
# decrypt there. Chosen over per-account keys derived with HKDF because it keeps a plain
# key list: MultiFernet decrypts with any key and re-encrypts with the first, legacy
# tokens stay readable until `reencrypt-psa-secrets` binds them, and nothing has to be
# derived per key and per account on every push.
BOUND_PREFIX = "flowpilot-psa:v1:"


def seal_private_key(plain: str, key: str | bytes, account_id: uuid.UUID) -> str:
    """Encrypt a private key for storage in `account_id`'s row (first key of the list)."""
    return encrypt_secret(f"{BOUND_PREFIX}{account_id}:{plain}", key)


def open_private_key(token: str, key: str | bytes, account_id: uuid.UUID) -> str:
    """Decrypt a stored private key, refusing one sealed for another account.

    A token from before binding (no prefix) is accepted: run `reencrypt-psa-secrets`."""
    plain = decrypt_secret(token, key)
    if not plain.startswith(BOUND_PREFIX):
        return plain
    owner, _, secret = plain.removeprefix(BOUND_PREFIX).partition(":")
    if owner != str(account_id):
        raise PsaConfigurationError(
            "stored PSA secret belongs to another account: save the PSA connection again"
        )
    return secret


def reseal_private_key(token: str, key: str | bytes, account_id: uuid.UUID) -> str:
    """The same private key, encrypted with the first key and bound to `account_id`."""
    return seal_private_key(open_private_key(token, key, account_id), key, account_id)
