"""Async SQLAlchemy engine, session factory and the naming conventions every service uses.

Pooled connections after a database restart: the pool does not ping the server on every checkout
(a round trip per transaction, a large share of a short request's cost). It checks instead, at no
cost, whether asyncpg has already seen the connection closed: when PostgreSQL restarts, its backends
exit and the client side reads the end of the stream, so a connection that died while idle in the
pool is discarded at checkout and replaced by a fresh one (SQLAlchemy retries the checkout). A
connection that dies in the middle of a statement is reported by SQLAlchemy as a disconnect, which
also invalidates every connection the pool opened before it. So a restart costs at most the requests
in flight while it happens (they get a 503, see ``problems``), none that arrive after it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import asyncpg
from sqlalchemy import Connection, Engine, MetaData, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import await_only, greenlet_spawn

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(
    database_url: str, *, pool_size: int = 10, server_settings: Mapping[str, str] | None = None
) -> AsyncEngine:
    """``server_settings``: PostgreSQL session settings for every connection (TCP keepalives)."""
    engine = create_async_engine(
        database_url,
        connect_args={"server_settings": dict(server_settings)} if server_settings else {},
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
    )
    event.listen(engine.sync_engine, "checkout", _discard_closed_connection)
    return engine


def _discard_closed_connection(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Raising DisconnectionError at checkout makes the pool drop this connection and take another."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    is_closed = getattr(driver, "is_closed", None)
    if is_closed is not None and is_closed():
        raise DisconnectionError("the pooled connection was closed by the server")


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


class DriverTransaction:
    """One pooled connection and the transaction a unit of work runs on it, begun and ended by asyncpg.

    The unit of work's hot path without SQLAlchemy: the connection is checked out of the engine's pool
    as ``read_connection`` does (``AsyncEngine.raw_connection()``: the pool's checkout event, so a
    connection closed while idle is still discarded), BEGIN, COMMIT and ROLLBACK are asyncpg's own
    statements, and the raw statements (``driver()``: the inbox claim, the commit statement, the
    services' raw paths through ``driver_connection``/``fetch_beginning``) run on it directly. No
    ``AsyncSession.connection()``, no SQLAlchemy ``Connection``, no greenlet per statement.

    The connection is checked out, and the transaction begun, at first use, so a unit of work that
    runs nothing sends nothing. While the unit of work has it, SQLAlchemy's adapter is in its
    ``autocommit`` mode (the DBAPI attribute): it then begins, commits and rolls back nothing itself, and
    a statement a repository runs through the session (ORM, Core: ``DriverSession``) runs in this
    transaction, which ``sync_connection`` begins first if it has not begun. Ending: ``commit``/``rollback``
    (asyncpg), then ``release``, which rolls back what was left open and gives the connection back to
    the pool; a connection whose ROLLBACK failed (lost) is invalidated, never pooled with a transaction
    open.
    """

    __slots__ = ("_driver", "_engine", "_fairy", "_sync")

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._fairy: PoolProxiedConnection | None = None
        self._driver: asyncpg.Connection | None = None
        self._sync: Connection | None = None

    def _adopt(self, fairy: PoolProxiedConnection) -> asyncpg.Connection:
        driver: asyncpg.Connection | None = fairy.driver_connection
        if driver is None:
            raise DisconnectionError("the pooled connection was invalidated")
        fairy.dbapi_connection.autocommit = True  # type: ignore[union-attr]
        self._fairy, self._driver = fairy, driver
        return driver

    async def connection(self) -> asyncpg.Connection:
        """The asyncpg connection as it is (checked out if not yet), its transaction NOT begun: a statement
        run on it before anything else is a transaction of its own, committed by PostgreSQL (insights'
        claim, whose one statement is the event's whole effect); ``commit`` then has nothing to end."""
        driver = self._driver
        if driver is None:
            driver = self._adopt(await self._engine.raw_connection())
        return driver

    async def driver(self) -> asyncpg.Connection:
        """The asyncpg connection, inside the unit of work's transaction (checked out and begun if not yet)."""
        driver = await self.connection()
        if not driver.is_in_transaction():
            await driver.execute("BEGIN")
        return driver

    def sync_connection(self) -> Connection:
        """A SQLAlchemy ``Connection`` on the same pooled connection, its transaction begun (for the
        session; called in SQLAlchemy's greenlet)."""
        if self._driver is None:
            self._adopt(self._engine.sync_engine.raw_connection())
        assert self._driver is not None
        assert self._fairy is not None
        if self._sync is None:
            self._sync = Connection(self._engine.sync_engine, connection=self._fairy)
        if not self._driver.is_in_transaction():
            await_only(self._driver.execute("BEGIN"))
        return self._sync

    async def commit_with(self, sql: str) -> None:
        """``sql`` and then ``COMMIT`` in ONE round trip: asyncpg's ``execute`` without arguments sends both
        in one simple-protocol message, which carries no parameters, so ``sql``'s values are constants
        (``text_literal``); BEGIN first in the same message if the transaction has not begun. If ``sql``
        fails, the server skips the COMMIT and leaves the transaction failed: the error is raised and
        ``release`` rolls back, as when the statement and COMMIT were two round trips. For a small last
        statement only: an unprepared statement is parsed and planned on every call."""
        driver = await self.connection()
        await driver.execute(("" if driver.is_in_transaction() else "BEGIN;") + sql + ";COMMIT")

    @property
    def in_transaction(self) -> bool:
        return self._driver is not None and self._driver.is_in_transaction()

    async def commit(self) -> None:
        if self._driver is not None and self._driver.is_in_transaction():
            await self._driver.execute("COMMIT")

    async def rollback(self) -> None:
        if self._driver is not None and self._driver.is_in_transaction():
            await self._driver.execute("ROLLBACK")

    async def release(self) -> None:
        """Roll back what is still open and give the connection back (invalidated if that failed)."""
        fairy, driver = self._fairy, self._driver
        if fairy is None or driver is None:
            return
        self._fairy = self._driver = self._sync = None
        try:
            if driver.is_closed():
                await _invalidate(fairy)
            elif driver.is_in_transaction():
                await driver.execute("ROLLBACK")
        except Exception:
            # Lost or unusable (the server ends its transaction with it): never pooled again. Not
            # raised: the unit of work's own error, if any, is the one its caller sees.
            await _invalidate(fairy)
        except BaseException:  # cancelled during the ROLLBACK: its state is unknown
            await _invalidate(fairy)
            raise
        finally:
            if fairy.dbapi_connection is not None:
                fairy.dbapi_connection.autocommit = False
            await greenlet_spawn(fairy.close)


async def _invalidate(fairy: PoolProxiedConnection) -> None:
    """Invalidate the pooled connection unless SQLAlchemy already did (a disconnect a session statement met:
    invalidating it twice only warns)."""
    if fairy.is_valid:
        await greenlet_spawn(fairy.invalidate)


DRIVER_TRANSACTION = "backoffice.driver_transaction"
"""The key of a session's ``info`` that holds its unit of work's ``DriverTransaction``."""


class DriverSession(Session):
    """The sync session of a unit of work on a ``DriverTransaction``: every statement it runs goes to
    that transaction's connection (``get_bind``), so ORM/Core work and the raw statements share one
    connection and one transaction."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Engine | Connection:
        transaction: DriverTransaction | None = self.info.get(DRIVER_TRANSACTION)
        if transaction is None:
            return super().get_bind(*args, **kwargs)
        return transaction.sync_connection()

    def commit(self) -> None:
        """The session's commit (its flush) and then the transaction's: ``uow.session.commit()`` commits
        the raw statements too, as it did when the session owned the transaction."""
        super().commit()
        transaction: DriverTransaction | None = self.info.get(DRIVER_TRANSACTION)
        if transaction is not None and transaction.in_transaction:
            await_only(transaction.commit())

    def rollback(self) -> None:
        super().rollback()
        transaction: DriverTransaction | None = self.info.get(DRIVER_TRANSACTION)
        if transaction is not None and transaction.in_transaction:
            await_only(transaction.rollback())


def text_literal(value: str) -> str:
    """``value`` as a PostgreSQL string constant, the same text whatever ``standard_conforming_strings``
    says: an escape string (``E'...'``) with every backslash and every quote doubled, so nothing in
    ``value`` is read as an escape or ends the constant. A NUL cannot be in a PostgreSQL text value:
    ``ValueError`` (callers look for one first and then take the parameterised path, whose error is the
    server's, as before). For ``DriverTransaction.commit_with``."""
    if "\x00" in value:
        raise ValueError("a NUL character cannot be in a PostgreSQL text value")
    return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under ``session``, inside the session's transaction (begun if it was not).

    For the hot statements (the inbox claim, the outbox and audit inserts, the services' command and
    read paths): asyncpg's own prepared-statement cache, no SQLAlchemy compile, result or ORM layers;
    same connection, same transaction, so they commit or roll back with the session's other work.

    Public API only: ``AsyncConnection.get_raw_connection()`` and the pooled connection's
    ``driver_connection`` (SQLAlchemy), asyncpg's ``is_in_transaction()``. SQLAlchemy's asyncpg
    adapter sends BEGIN lazily, before the first statement it executes itself, and commits or rolls
    back only a transaction it began; so when nothing ran yet in this transaction, an empty statement
    (``;``) is executed through SQLAlchemy first. That costs one round trip and the adapter's execute
    once per transaction (``bench/driver_connection_cpu.py``); after it, every call is two attribute
    reads and a check.

    A unit of work's session (``DriverSession``, ``DRIVER_TRANSACTION`` in its ``info``) answers with
    its ``DriverTransaction``'s connection, begun by asyncpg: no SQLAlchemy round trip at all.
    """
    transaction: DriverTransaction | None = session.info.get(DRIVER_TRANSACTION)
    if transaction is not None:
        return await transaction.driver()
    connection = await session.connection()
    fairy = await connection.get_raw_connection()
    driver: asyncpg.Connection | None = fairy.driver_connection
    if driver is None:  # invalidated since it was checked out
        raise DisconnectionError("the session's connection was invalidated")
    if not driver.is_in_transaction() and not getattr(fairy.dbapi_connection, "autocommit", False):
        await connection.exec_driver_sql(";")
    return driver


@asynccontextmanager
async def read_connection(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """The asyncpg connection of one of ``engine``'s pooled connections, with no transaction: for a
    read that runs ONE statement (a ``GET`` that only reads), returned to the pool when the block ends.

    ``AsyncEngine.raw_connection()``: the pool's connection without SQLAlchemy's ``Connection`` around
    it (``engine.connect()`` cost 0.06 ms more per read). Without a unit of work: no SQLAlchemy
    session, no BEGIN (the empty statement of ``driver_connection``), no ROLLBACK. Returning the
    connection sends nothing either: SQLAlchemy's reset on return rolls back only a transaction its
    adapter began, and none was. The engine's own pool, so no more connections to PostgreSQL, the
    same codecs (``json``/``jsonb`` decoded as the unit of work's statements decode them) and the
    same check of connections closed while idle (the pool's checkout event).

    Outside a transaction each statement sees its own snapshot (READ COMMITTED autocommit): a read
    that must see one state of several tables does it in ONE statement (subqueries, ``ARRAY(...)``),
    which PostgreSQL runs on one snapshot. It must not change anything or the session's state
    (``SET``, ``LISTEN``, advisory locks): the next user of the connection would inherit it.
    """
    fairy = await engine.raw_connection()
    try:
        driver: asyncpg.Connection | None = fairy.driver_connection
        if driver is None:
            raise DisconnectionError("the pooled connection was invalidated")
        yield driver
    finally:
        # In SQLAlchemy's greenlet: giving back an overflow connection closes it, which awaits.
        await greenlet_spawn(fairy.close)


async def fetch_beginning(session: AsyncSession, sql: str, *args: Any) -> list[Any]:
    """The rows of ``sql`` (``$n`` parameters) in the session's transaction, each read by column name
    (``row["id"]``), beginning the transaction with the statement when it has not begun.

    For a transaction's first statement (a consumer's inbox claim, a worker's claim): when the
    transaction has not begun, the statement goes through SQLAlchemy's adapter (``exec_driver_sql``),
    which sends BEGIN and then the statement, instead of ``driver_connection``'s empty statement
    followed by the statement on asyncpg (one round trip and one execute less). Once it has begun,
    asyncpg directly. The values are the same either way (the same connection and codecs). A unit of
    work's ``DriverTransaction`` (see ``driver_connection``): BEGIN and the statement on asyncpg."""
    transaction: DriverTransaction | None = session.info.get(DRIVER_TRANSACTION)
    if transaction is not None:
        return list(await (await transaction.driver()).fetch(sql, *args))
    connection = await session.connection()
    fairy = await connection.get_raw_connection()
    driver: asyncpg.Connection | None = fairy.driver_connection
    if driver is None:
        raise DisconnectionError("the session's connection was invalidated")
    if driver.is_in_transaction() or getattr(fairy.dbapi_connection, "autocommit", False):
        return list(await driver.fetch(sql, *args))
    result = await connection.exec_driver_sql(sql, args)
    return list(result.mappings().all())


async def fetchval_beginning(session: AsyncSession, sql: str, *args: Any) -> Any:
    """The first column of the first row of ``sql`` (None without a row), as ``fetch_beginning``."""
    rows = await fetch_beginning(session, sql, *args)
    return next(iter(rows[0].values())) if rows else None


def asyncpg_dsn(database_url: str, *, server_settings: Mapping[str, str] | None = None) -> str:
    """The same URL in the form asyncpg.connect() accepts (no ``+asyncpg`` driver suffix).

    ``server_settings`` become query parameters, which asyncpg sends as session settings.
    """
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    if server_settings:
        dsn += ("&" if "?" in dsn else "?") + urlencode(dict(server_settings))
    return dsn


_DISCONNECT_MESSAGES = ("connection is closed", "connection was closed", "connection_lost")


def is_database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) means the database cannot be reached right now.

    Refused or cut connections, a server starting up or shutting down, no free connection slot:
    the request may well succeed a moment later. Errors of the statement itself (a constraint, a
    bad value, a serialization failure) are not this.
    """
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, DisconnectionError | PoolTimeoutError | ConnectionError):
            return True
        if isinstance(
            seen,
            asyncpg.PostgresConnectionError
            | asyncpg.CannotConnectNowError
            | asyncpg.AdminShutdownError
            | asyncpg.CrashShutdownError
            | asyncpg.TooManyConnectionsError,
        ):
            return True
        if isinstance(seen, asyncpg.InterfaceError) and any(m in str(seen) for m in _DISCONNECT_MESSAGES):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False
