"""Engines and the unit of work.

SQLite: WAL journal, 30 s busy timeout, foreign keys on, and every write transaction starts with
``BEGIN IMMEDIATE`` so concurrent writers (the API, the worker, DBOS itself, CLI commands in other processes)
serialise instead of failing on a lock upgrade. Reads use a second engine with deferred transactions so they
never wait for a writer. PostgreSQL: one pooled engine for both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from tracehound.db.urls import DatabaseUrls, resolve

SQLITE_BUSY_TIMEOUT_S = 30


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, pool_size=8)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cur.close()

    begin_sql = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin_sql)

    return engine


class Database:
    """Owns the engines. ``db`` in this codebase is always an :class:`AsyncSession` made by one of these."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.urls: DatabaseUrls = resolve(url)
        if self.urls.is_sqlite:
            self.write_engine = _sqlite_engine(self.urls.async_url, immediate=True)
            self.read_engine = _sqlite_engine(self.urls.async_url, immediate=False)
        else:
            self.write_engine = create_async_engine(
                self.urls.async_url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
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

    async def ping(self) -> None:
        from sqlalchemy import text

        async with self.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
