"""The engines a running service holds: the primary, and an optional read replica."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.settings import Settings
from persistence.connection import ConnectionSettings
from persistence.engine import create_engine, create_sessionmaker


@dataclass(frozen=True)
class Database:
    """Writes go to `primary`; analytics reads go to `read` (the replica when configured)."""

    primary_engine: AsyncEngine
    read_engine: AsyncEngine
    primary: async_sessionmaker[AsyncSession]
    read: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(cls, settings: Settings) -> Database:
        if settings.database_url is None:
            raise ValueError("DATABASE_URL is not set")
        # One set of connection settings for the primary and the replica, and for every
        # way in to each (persistence.connection).
        connection = ConnectionSettings.from_settings(settings)
        primary = create_engine(settings.database_url, connection)
        read = primary
        if settings.database_read_url:
            read = create_engine(settings.database_read_url, connection)
        return cls(primary, read, create_sessionmaker(primary), create_sessionmaker(read))

    async def dispose(self) -> None:
        await self.primary_engine.dispose()
        if self.read_engine is not self.primary_engine:
            await self.read_engine.dispose()
