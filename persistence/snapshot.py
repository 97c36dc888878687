"""One consistent read of the database for one request.

Every read of a request runs in one read-only REPEATABLE READ transaction on one
connection, bound to the caller's account once, so all parts of a response see the same
state of the database even while sessions are written (METRICS.md, "One instant per
response"). The statement that binds the account also reads its state: the time zone,
which every tab needs before its first window, and the data version a cached answer is
tagged with (read by the snapshot's first statement, so exactly the state it shows).
asyncpg runs one statement at a time per connection, so batches take turns.

The snapshot checks a connection out of the engine's pool and runs its transaction and
statements with asyncpg directly (`persistence.reader`: SQLAlchemy's session would cost a
quarter of a small request); a connection whose transaction did not end cleanly is
invalidated, never returned to the pool inside it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from asyncpg.transaction import Transaction
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from persistence.reader import Reader, driver_of
from persistence.tenancy import AccountState, bind_account_read_state

T = TypeVar("T")


# What a statement raises when its connection is gone (the server closed it, or a
# network cut it) before asyncpg noticed; once it has, the connection says it is closed.
CONNECTION_LOST: tuple[type[BaseException], ...] = (asyncpg.PostgresConnectionError, OSError)


class SnapshotClosedError(RuntimeError):
    """A read was asked of a snapshot whose request has already finished."""


class ReadSnapshot:
    """Opens its transaction on the first read; `close` ends it (and cancels a late read)."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], account_id: uuid.UUID
    ) -> None:
        # The pool the request's sessions come from (its engine), so reads and writes of
        # a deployment share one configuration.
        self._engine: AsyncEngine = sessionmaker.kw["bind"]
        self.account_id = account_id
        self._connection: AsyncConnection | None = None
        self._transaction: Transaction | None = None
        self._reader: Reader | None = None
        self._turn = asyncio.Lock()
        self._readers: set[asyncio.Task[object]] = set()
        self._closed = False
        self._closing: asyncio.Future[None] | None = None
        # The first failed read: the transaction is aborted then, so every later read of
        # the request fails the same way (and the error keeps its code).
        self._failure: Exception | None = None
        self._interrupted = False
        self._state: AccountState | None = None

    @property
    def opened(self) -> bool:
        return self._connection is not None

    async def read(self, work: Callable[[Reader], Awaitable[T]]) -> T:
        """Run `work` on the snapshot's reader, after any read already running."""
        task = asyncio.current_task()
        if task is not None:
            self._readers.add(task)
        try:
            async with self._turn:
                if self._closed:
                    raise SnapshotClosedError("the request's snapshot is closed")
                if self._failure is not None:
                    raise self._failure
                try:
                    if self._reader is None:
                        self._reader = await self._open()
                    return await work(self._reader)
                except Exception as error:
                    self._failure = error
                    raise
                except BaseException:
                    # Cancelled mid-statement: the connection's state is unknown.
                    self._interrupted = True
                    raise
        finally:
            if task is not None:
                self._readers.discard(task)

    async def timezone(self) -> str:
        """The account's IANA time zone ('UTC' when its row is missing), as of the snapshot."""
        state = await self.account_state()
        return "UTC" if state is None else state.timezone

    async def account_state(self) -> AccountState | None:
        """The account's state as of the snapshot (None when its row is missing)."""
        return await self.read(self._read_state)

    async def _read_state(self, _reader: Reader) -> AccountState | None:
        return self._state  # read by _open, with the binding

    async def _open(self) -> Reader:
        self._connection = await self._engine.connect()
        driver = await driver_of(self._connection)
        self._transaction = driver.transaction(isolation="repeatable_read", readonly=True)
        await self._transaction.start()
        reader = await Reader.on(self._connection)
        self._state = await bind_account_read_state(reader, self.account_id)
        return reader

    async def close(self) -> None:
        """End the transaction and return the connection; idempotent.

        A read still running (its request was cancelled by the request timeout) is
        cancelled first, so the connection goes back to the pool before this returns.
        The ending runs in a task of its own that a cancelled caller does not stop (the
        request deadline may fire while it commits), and every later call waits for it.
        """
        if self._closing is None:
            self._closed = True  # no read starts from now on
            self._closing = asyncio.ensure_future(self._end(asyncio.current_task()))
        await asyncio.shield(self._closing)

    async def _end(self, caller: asyncio.Task[object] | None) -> None:
        pending = [task for task in self._readers if task is not caller and not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        connection, self._connection = self._connection, None
        transaction, self._transaction = self._transaction, None
        reader, self._reader = self._reader, None
        if connection is None:
            return
        lost = isinstance(self._failure, CONNECTION_LOST) or (
            reader is not None and reader.driver.is_closed()
        )
        try:
            if self._interrupted or transaction is None:
                await connection.invalidate()
            elif self._failure is not None:
                await transaction.rollback()
            else:
                await transaction.commit()
        except BaseException:
            await connection.invalidate()
        finally:
            await connection.close()
        if lost:
            # As SQLAlchemy does on a disconnect: the pool's other connections were made
            # before it and may be as dead, so the next checkouts make new ones.
            await self._engine.dispose(close=False)
