"""Per-account PSA connection settings; the private key is encrypted before it is stored.

Nothing here ever returns the private key in clear: `StoredConnection` carries only the
ciphertext, and `credentials()` decrypts it at the moment a provider is built.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from psa.credentials import ConnectWiseCredentials, reseal_private_key, seal_private_key


@dataclass(frozen=True)
class ConnectionSettings:
    """What an admin saves; `private_key=None` keeps the stored one."""

    site: str
    codebase: str
    company_id: str
    public_key: str
    client_id: str
    private_key: str | None = field(default=None, repr=False)
    default_member_id: int | None = None


@dataclass(frozen=True)
class StoredConnection:
    """A saved connection as read back: the private key only as ciphertext."""

    account_id: uuid.UUID
    provider: str
    site: str
    codebase: str
    company_id: str
    public_key: str
    client_id: str
    default_member_id: int | None
    updated_at: datetime
    private_key_encrypted: str = field(repr=False)

    def credentials(self, secret_key: str | bytes) -> ConnectWiseCredentials:
        """Decrypt the private key into credentials for a provider (never logged)."""
        return ConnectWiseCredentials.from_stored(
            site=self.site,
            codebase=self.codebase,
            company_id=self.company_id,
            public_key=self.public_key,
            encrypted_private_key=self.private_key_encrypted,
            client_id=self.client_id,
            account_id=self.account_id,
            secret_key=secret_key,
        )


class PrivateKeyRequiredError(ValueError):
    """The private key must be given: on the first save, and when the site, company id or
    public key change (else an admin could send the stored key to a host of their choice)."""


_COLUMNS = (
    "account_id, provider, site, codebase, company_id, public_key, client_id, "
    "default_member_id, updated_at, private_key_encrypted"
)
# Changing any of these sends the stored private key somewhere new: it must be re-entered.
KEY_BOUND_FIELDS = ("site", "company_id", "public_key")
_LOCK = text(
    "SELECT site, company_id, public_key FROM psa_connections "
    "WHERE account_id = :account_id FOR UPDATE"
)
_LOAD = text(f"SELECT {_COLUMNS} FROM psa_connections WHERE account_id = :account_id")
_INSERT = text(
    f"""
    INSERT INTO psa_connections (account_id, site, codebase, company_id, public_key, client_id,
                                 default_member_id, private_key_encrypted)
    VALUES (:account_id, :site, :codebase, :company_id, :public_key, :client_id,
            :default_member_id, :private_key_encrypted)
    ON CONFLICT (account_id) DO UPDATE SET
        site = excluded.site, codebase = excluded.codebase, company_id = excluded.company_id,
        public_key = excluded.public_key, client_id = excluded.client_id,
        default_member_id = excluded.default_member_id,
        private_key_encrypted = excluded.private_key_encrypted, updated_at = now()
    RETURNING {_COLUMNS}
    """
)
_UPDATE_KEEPING_KEY = text(
    f"""
    UPDATE psa_connections SET site = :site, codebase = :codebase, company_id = :company_id,
        public_key = :public_key, client_id = :client_id,
        default_member_id = :default_member_id, updated_at = now()
    WHERE account_id = :account_id
    RETURNING {_COLUMNS}
    """
)


async def load_connection(session: AsyncSession, account_id: uuid.UUID) -> StoredConnection | None:
    row = (await session.execute(_LOAD, {"account_id": account_id})).one_or_none()
    return None if row is None else StoredConnection(**row._asdict())


async def save_connection(
    session: AsyncSession,
    account_id: uuid.UUID,
    settings: ConnectionSettings,
    secret_key: str | bytes,
) -> StoredConnection:
    """Insert or replace the account's settings; the private key is encrypted here."""
    values = {
        "account_id": account_id,
        "site": settings.site.strip(),
        "codebase": settings.codebase.strip(),
        "company_id": settings.company_id.strip(),
        "public_key": settings.public_key.strip(),
        "client_id": settings.client_id.strip(),
        "default_member_id": settings.default_member_id,
    }
    if settings.private_key is None:
        current = (await session.execute(_LOCK, {"account_id": account_id})).one_or_none()
        if current is None:
            raise PrivateKeyRequiredError("privateKey is required when no connection is saved yet")
        if any(getattr(current, name) != values[name] for name in KEY_BOUND_FIELDS):
            # The stored key must not follow the connection to another host or identity.
            raise PrivateKeyRequiredError(
                "privateKey is required when site, companyId or publicKey change"
            )
        row = (await session.execute(_UPDATE_KEEPING_KEY, values)).one()
    else:
        encrypted = seal_private_key(settings.private_key, secret_key, account_id)
        row = (await session.execute(_INSERT, {**values, "private_key_encrypted": encrypted})).one()
    return StoredConnection(**row._asdict())


_KEY_FOR_UPDATE = text(
    "SELECT private_key_encrypted FROM psa_connections WHERE account_id = :account_id FOR UPDATE"
)
_STORE_KEY = text(
    "UPDATE psa_connections SET private_key_encrypted = :token WHERE account_id = :account_id"
)


async def reencrypt_private_key(
    session: AsyncSession, account_id: uuid.UUID, secret_key: str | bytes
) -> bool:
    """Re-encrypt the account's stored private key with the first key of `secret_key`,
    bound to the account. False when the account has no connection; PsaConfigurationError
    when no key of the list decrypts it (or it belongs to another account)."""
    params = {"account_id": account_id}
    token = (await session.execute(_KEY_FOR_UPDATE, params)).scalar_one_or_none()
    if token is None:
        return False
    fresh = reseal_private_key(token, secret_key, account_id)
    await session.execute(_STORE_KEY, {**params, "token": fresh})
    return True
