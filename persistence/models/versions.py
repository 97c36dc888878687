"""Typed models of the data-version tables (maintained by triggers; see 0008_data_versions).

They share `Base` so the one metadata still describes the whole migrated schema. Nothing
writes them through the ORM: every write that can change an analytics answer bumps its
account's version in the same transaction, and the response cache reads it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base

VERSION_TABLES = ("account_data_versions", "data_version_epoch")


class AccountDataVersion(Base):
    """The account's current data version (RLS enabled, forced, tenant_isolation)."""

    __tablename__ = "account_data_versions"

    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class DataVersionEpoch(Base):
    """One random id per database, so entries of a re-made database never match."""

    __tablename__ = "data_version_epoch"

    epoch: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
