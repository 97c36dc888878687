"""ConnectWise API credentials, and Fernet encryption of the secrets we store at rest.

The private key is never part of `repr`/`str`: credentials end up in logs, tracebacks
and debugger output far more often than anyone intends.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken

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
        secret_key: str | bytes | None = None,
    ) -> ConnectWiseCredentials:
        """Build credentials from a stored row; the key defaults to PSA_SECRET_KEY."""
        key = secret_key if secret_key is not None else secret_key_from_env()
        return cls(
            site=site,
            codebase=codebase,
            company_id=company_id,
            public_key=public_key,
            private_key=decrypt_secret(encrypted_private_key, key),
            client_id=client_id,
        )

    def authorization_header(self) -> str:
        """`Basic base64("{companyId}+{publicKey}:{privateKey}")`, as ConnectWise expects."""
        raw = f"{self.company_id}+{self.public_key}:{self.private_key}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


def secret_key_from_env(env: Mapping[str, str] | None = None) -> bytes:
    """Read and validate the Fernet key in PSA_SECRET_KEY (generate one with `new_secret_key`)."""
    environ = os.environ if env is None else env
    value = environ.get(SECRET_KEY_ENV, "").strip()
    if not value:
        raise PsaConfigurationError(
            f"{SECRET_KEY_ENV} is not set; generate one with "
            "`python -c 'from psa.credentials import new_secret_key; print(new_secret_key())'`"
        )
    return validate_secret_key(value)


def validate_secret_key(key: str | bytes) -> bytes:
    """Return the key as bytes if it is a valid Fernet key (32 url-safe base64 bytes)."""
    raw = key.encode("ascii", "replace") if isinstance(key, str) else key
    try:
        Fernet(raw)
    except (ValueError, TypeError):
        raise PsaConfigurationError(
            f"{SECRET_KEY_ENV} is not a valid Fernet key "
            "(expected 32 bytes, url-safe base64 encoded: 44 characters)"
        ) from None
    return raw


def new_secret_key() -> str:
    """A fresh random key suitable for PSA_SECRET_KEY."""
    return Fernet.generate_key().decode("ascii")


def encrypt_secret(plain: str, key: str | bytes) -> str:
    """Encrypt (and authenticate) a secret such as a private key for storage."""
    return Fernet(validate_secret_key(key)).encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt_secret(token: str, key: str | bytes) -> str:
    """Decrypt a stored secret; a wrong key or tampered token raises PsaConfigurationError."""
    try:
        plain = Fernet(validate_secret_key(key)).decrypt(token.encode("ascii", "replace"))
    except InvalidToken:
        raise PsaConfigurationError(
            "stored PSA secret cannot be decrypted: wrong PSA_SECRET_KEY or corrupted value"
        ) from None
    return plain.decode("utf-8")
