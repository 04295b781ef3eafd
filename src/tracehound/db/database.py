"""Engines and the unit of work.

SQLite: WAL journal, foreign keys on, a 2 s busy timeout for statements on the event loop and up to 30 s of
waiting for the write lock off it; every write transaction starts with
``BEGIN IMMEDIATE`` so concurrent writers (the API, the worker, DBOS itself, CLI commands in other processes)
serialise instead of failing on a lock upgrade. Reads use a second engine with deferred transactions so they
never wait for a writer. PostgreSQL: one pooled engine for both.

Two styles of unit of work:

- ``transaction()`` / ``reader()`` give an :class:`AsyncSession` (the ORM, any query).
- ``read(work)`` runs a read-only function written against a *sync* :class:`Connection`, for the hot paths
  (authentication, ``GET /v1/sessions/{id}``). On SQLite it runs inline on the event loop: a WAL reader never
  waits for a writer, and the statement costs less than aiosqlite's thread hop (four per statement). On
  PostgreSQL it runs through the async driver (``run_sync``), so one function serves both databases.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from tracehound.db.sqlite_inline import inline_creator
from tracehound.db.urls import DatabaseUrls, resolve

SQLITE_BUSY_TIMEOUT_S = 30  # how long a writer waits for the write lock (BEGIN IMMEDIATE, off the event loop)
# Statements inline on the event loop wait for a lock this long at most: a WAL reader almost never waits (only while
# a crashed writer's WAL is recovered) and a writer holding the lock never does, so a wait there is a stall of every
# request, or a wait for a connection of this process that needs the loop: give up as a 503 (sqlite_inline.py).
SQLITE_INLINE_BUSY_TIMEOUT_S = 2
T = TypeVar("T")


def _sqlite_setup(engine: Engine, *, immediate: bool, busy_timeout_s: float, raw_begin: bool = False) -> None:
    """Pragmas on connect and our own BEGIN (``raw_begin``: straight on the sqlite3 connection, for the sync
    engine, skipping SQLAlchemy's statement machinery)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cur.close()

    begin_sql = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if raw_begin:
            conn.connection.dbapi_connection.execute(begin_sql)
        else:
            conn.exec_driver_sql(begin_sql)


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    """Through aiosqlite's API but inline on the event loop (``sqlite_inline.py``: only BEGIN IMMEDIATE, the one
    call that can wait for a lock, leaves the loop)."""
    path = make_url(url).database or ""
    engine = create_async_engine(
        url,
        async_creator=inline_creator(path, busy_timeout=SQLITE_INLINE_BUSY_TIMEOUT_S, lock_wait=SQLITE_BUSY_TIMEOUT_S),
        pool_size=8,
        json_deserializer=orjson.loads,
    )
    _sqlite_setup(engine.sync_engine, immediate=immediate, busy_timeout_s=SQLITE_INLINE_BUSY_TIMEOUT_S)
    return engine


def _sqlite_inline_reader(url: str) -> Engine:
    # one event loop thread uses it, but the pool may hand a connection to another thread at shutdown
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_INLINE_BUSY_TIMEOUT_S, "check_same_thread": False},
        pool_size=4,
        json_deserializer=orjson.loads,
    )
    _sqlite_setup(engine, immediate=False, busy_timeout_s=SQLITE_INLINE_BUSY_TIMEOUT_S, raw_begin=True)
    return engine


class Database:
    """Owns the engines. ``db`` in this codebase is always an :class:`AsyncSession` made by one of these."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.urls: DatabaseUrls = resolve(url)
        self._inline_reader: Engine | None = None
        if self.urls.is_sqlite:
            self.write_engine = _sqlite_engine(self.urls.async_url, immediate=True)
            self.read_engine = _sqlite_engine(self.urls.async_url, immediate=False)
            self._inline_reader = _sqlite_inline_reader(self.urls.sync_url)
        else:
            # No pre-ping (a round trip per checkout): a connection found dead raises a disconnect error, which
            # invalidates the whole pool, and that one request answers 503 (api/errors.py).
            self.write_engine = create_async_engine(
                self.urls.async_url, pool_size=pool_size, max_overflow=pool_size, json_deserializer=orjson.loads
            )
            self.read_engine = self.write_engine
        self._write = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._read = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits on success, rolls back on any exception."""
        async with self._write() as db, db.begin():
            yield db

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        async with self._read() as db, db.begin():
            yield db

    async def read(self, work: Callable[[Connection], T]) -> T:
        """Runs ``work`` (read-only, sync, one transaction) and returns what it returns. See the module doc."""
        if self._inline_reader is not None:
            with self._inline_reader.connect() as conn:
                return work(conn)
        async with self.read_engine.connect() as aconn:
            return await aconn.run_sync(work)

    async def ping(self) -> None:
        from sqlalchemy import text

        async with self.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._inline_reader is not None:
            self._inline_reader.dispose()
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
