"""The inline aiosqlite connection (``tracehound.db.sqlite_inline``) through SQLAlchemy's real ``sqlite+aiosqlite``
dialect, on a real SQLite file: statements run, transactions commit and roll back, and a writer waiting for the
write lock does not stall the event loop. These also pin the aiosqlite internals the shim relies on."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from tracehound.db.database import Database


def _db(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'inline.db'}")


def test_the_aiosqlite_internals_the_shim_overrides_still_exist() -> None:
    for name in ("_execute", "_connect", "__await__", "stop", "close", "cursor", "execute", "commit", "rollback"):
        assert hasattr(aiosqlite.Connection, name), name
    assert aiosqlite.__version__.startswith("0.22"), "re-check sqlite_inline.py against the new aiosqlite"


async def _insert_3_then_a_duplicate(db: Database) -> None:
    async with db.transaction() as s:
        await s.execute(text("INSERT INTO t VALUES (3)"))
        await s.execute(text("INSERT INTO t VALUES (1)"))  # duplicate: the whole transaction goes


def test_writes_commit_roll_back_and_are_read_back(tmp_path: Path) -> None:
    async def go() -> list[int]:
        db = _db(tmp_path)
        try:
            async with db.transaction() as s:
                await s.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
                await s.execute(text("INSERT INTO t VALUES (1), (2)"))
            with pytest.raises(IntegrityError):
                await _insert_3_then_a_duplicate(db)
            async with db.reader() as s:
                return [int(r[0]) for r in (await s.execute(text("SELECT id FROM t ORDER BY id"))).all()]
        finally:
            await db.dispose()

    assert asyncio.run(go()) == [1, 2]


def test_a_writer_waiting_for_the_lock_leaves_the_event_loop_free(tmp_path: Path) -> None:
    path = tmp_path / "inline.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock for 1 s
    threading.Timer(1.0, other.commit).start()

    async def go() -> tuple[int, float]:
        db = Database(f"sqlite:///{path}")
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        started = time.monotonic()
        try:
            async with db.transaction() as s:  # BEGIN IMMEDIATE waits here, off the loop
                await s.execute(text("INSERT INTO t VALUES (1)"))
            return ticks, time.monotonic() - started
        finally:
            task.cancel()
            await db.dispose()

    ticks, waited = asyncio.run(go())
    other.close()
    assert waited >= 0.9  # it did wait for the other writer
    assert ticks >= 20  # and the loop kept running meanwhile (a blocked loop would tick about once)


def _held_lock(path: Path) -> sqlite3.Connection:
    """Another process's writer holding the write lock until the test releases it."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY)")
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_statement_on_the_event_loop_gives_up_instead_of_waiting_for_the_lock(tmp_path: Path) -> None:
    """A write in a deferred transaction runs on the loop and would have to wait for the lock: it fails (a 503 for a
    request) rather than hold up every request of the process until the holder lets go."""
    path = tmp_path / "inline.db"
    other = _held_lock(path)
    released = threading.Event()
    # the holder lets go after 8 s: a statement that waited for it would succeed
    timer = threading.Timer(8.0, lambda: (other.commit(), released.set()))
    timer.start()

    async def go() -> str:
        db = Database(f"sqlite:///{path}")
        try:
            async with db.reader() as s:
                await s.execute(text("INSERT INTO t VALUES (1)"))
            return "inserted"
        except OperationalError as exc:
            return "gave up" if "locked" in str(exc) else str(exc)
        finally:
            await db.dispose()

    try:
        outcome = asyncio.run(go())
        assert not released.is_set(), "the statement waited for the holder"
        assert outcome == "gave up"
    finally:
        timer.cancel()
        if not released.is_set():
            other.rollback()
        other.close()


def test_a_writer_cancelled_while_waiting_for_the_lock_does_not_keep_it(tmp_path: Path) -> None:
    """Cancelled while its BEGIN IMMEDIATE waits on the thread (a request's client gave up, a step timed out): once
    the other writer lets go, the next transactions get the lock, and the cancelled one wrote nothing."""
    path = tmp_path / "inline.db"
    other = _held_lock(path)

    async def go() -> list[int]:
        db = Database(f"sqlite:///{path}")
        try:

            async def write(n: int) -> None:
                async with db.transaction() as s:
                    await s.execute(text(f"INSERT INTO t VALUES ({n})"))

            waiting = asyncio.create_task(write(1))
            await asyncio.sleep(0.5)  # it is waiting for the lock on its thread now
            threading.Timer(1.0, other.commit).start()  # the other writer lets go on its own, a moment later
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            for n in (2, 3, 4):  # enough to use more than one pooled connection
                await asyncio.wait_for(write(n), timeout=10)
            async with db.reader() as s:
                return [int(r[0]) for r in (await s.execute(text("SELECT id FROM t ORDER BY id"))).all()]
        finally:
            await db.dispose()

    try:
        assert asyncio.run(go()) == [2, 3, 4]
    finally:
        other.close()
