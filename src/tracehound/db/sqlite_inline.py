"""An aiosqlite connection without aiosqlite's thread: SQLite calls run inline on the event loop.

aiosqlite runs every call of a connection (cursor, execute, fetch, close: four per statement) on a thread of its
own; on a busy 2-core machine each hop costs more than the statement it carries (a ``GET`` of a session took
5.7 ms of CPU through aiosqlite, 0.9 ms inline). What makes the hop worth it in general is that a call may wait
for a lock. In tracehound's SQLite setup only one call can: every write transaction starts with
``BEGIN IMMEDIATE`` (``database.py``), which takes the write lock up front and may wait up to the busy timeout
for another writer (another process, DBOS's own connection). Once it holds the lock, nothing else in the
transaction waits: in WAL mode readers never block a writer and a commit never waits for readers. So
``BEGIN IMMEDIATE`` goes to a thread and everything else runs inline.

If an inline statement does wait for a lock after all, the holder may be another connection of this same process
whose coroutine needs the blocked loop to finish: waiting cannot end that, only the busy timeout can, and every
request of the process stalls meanwhile (seen once: the whole server froze for the 30 s busy timeout). So the
connection's own busy timeout is short (``busy_timeout``: the statement fails, the request answers 503 with
``Retry-After``), and only ``BEGIN IMMEDIATE``, on its thread, keeps trying up to ``lock_wait``.

A caller cancelled while its ``BEGIN IMMEDIATE`` still waits on the thread must not hand the connection back
until that call returns, and must give back the write lock it may then hold: otherwise the pool could give a
connection in use by a thread to another coroutine, and every other writer would wait for a lock nobody releases.

SQLAlchemy's ``sqlite+aiosqlite`` dialect drives it unchanged (``create_async_engine(async_creator=...)``); it
relies on aiosqlite 0.22's ``Connection`` internals (``_execute``, ``_connection``, ``_tx``), which
``tests/integration/test_sqlite_inline.py`` pins.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import aiosqlite

# Writers waiting for the lock wait here, not in the loop's default executor (6 threads on 2 cores), which they
# could fill while the holder of the lock needs a thread of its own to finish.
_LOCK_WAITERS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="sqlite-begin")


def _waits_for_lock(args: tuple[Any, ...]) -> bool:
    return bool(args) and isinstance(args[0], str) and args[0].lstrip()[:15].upper() == "BEGIN IMMEDIATE"


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _retry_while_busy(call: Callable[[], Any], lock_wait: float) -> Any:
    """``call`` (a ``BEGIN IMMEDIATE``) again while the lock is busy, for up to ``lock_wait`` seconds in all; each
    attempt itself waits up to the connection's busy timeout. A failed BEGIN starts nothing, so a retry is safe."""
    deadline = time.monotonic() + lock_wait
    while True:
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() >= deadline:
                raise


class _InlineQueue:
    """Stands in for aiosqlite's request queue, which SQLAlchemy's adapter uses directly to set the isolation
    level: the call runs at once and its future is resolved."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to the awaiting caller, as aiosqlite's thread does
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's API, run on the caller's thread; ``BEGIN IMMEDIATE`` alone runs on a worker thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], *, lock_wait: float) -> None:
        super().__init__(connector, iter_chunk_size=64)  # builds a Thread object that is never started
        self._tx = _InlineQueue()  # type: ignore[assignment]
        self._lock_wait = lock_wait

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if _waits_for_lock(args):
            return await self._begin_immediate(partial(fn, *args, **kwargs))
        return fn(*args, **kwargs)

    async def _begin_immediate(self, call: Callable[[], Any]) -> Any:
        loop = asyncio.get_running_loop()
        attempt = loop.run_in_executor(_LOCK_WAITERS, _retry_while_busy, call, self._lock_wait)
        try:
            return await asyncio.shield(attempt)
        except asyncio.CancelledError:
            # the thread is still in BEGIN IMMEDIATE on this connection: wait for it, then give back what it took
            while not attempt.done():
                try:
                    await asyncio.shield(attempt)
                except asyncio.CancelledError:
                    continue
                except Exception:  # the BEGIN failed: nothing was taken
                    break
            if not attempt.cancelled():
                attempt.exception()  # retrieved: a failed BEGIN after a cancel is expected, not worth a log line
            if self._connection is not None and self._connection.in_transaction:
                self._connection.rollback()
            raise

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


def inline_creator(path: str, *, busy_timeout: float, lock_wait: float) -> Callable[[], Awaitable[InlineConnection]]:
    """For ``create_async_engine(..., async_creator=...)``: a new connection to the SQLite file at ``path``.
    ``busy_timeout``: how long any statement waits for a lock (keep it short: most run on the event loop);
    ``lock_wait``: how long ``BEGIN IMMEDIATE``, off the loop, keeps trying."""

    def connector() -> sqlite3.Connection:
        # check_same_thread=False: BEGIN IMMEDIATE runs on a worker thread, the rest on the loop's
        return sqlite3.connect(path, timeout=busy_timeout, check_same_thread=False)

    async def create() -> InlineConnection:
        return await InlineConnection(connector, lock_wait=lock_wait)

    return create
