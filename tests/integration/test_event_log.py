"""The event log under concurrent writers (the worker's progress sink, a cancel from the API, the deadline
sweeper): every append succeeds and the sequence stays 1, 2, 3, … without holes, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest

from tests.conftest import new_database_url
from tests.support.tenants import make_tenant
from tracehound.auth.service import authenticate
from tracehound.db.database import Database
from tracehound.db.migrate import migrate
from tracehound.engine.types import ProgressEvent
from tracehound.investigations.service import EventSink
from tracehound.kit.clock import utcnow
from tracehound.sessions import repository as repo
from tracehound.sessions import service
from tracehound.sessions.schemas import SessionCreate
from tracehound.sessions.service import Limits, Turn


async def _noop_enqueue(_db: object, _turn: Turn) -> None:
    return None


@contextlib.asynccontextmanager
async def _one_session(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Database, str]]:
    """A migrated database of ``backend`` with one organisation and one session in it: (database, session id)."""
    url = new_database_url(backend, tmp_path, request)
    migrate(url)
    tenant = await asyncio.to_thread(make_tenant, url, sim=None)
    database = Database(url)
    try:
        who = await database.read(partial(authenticate, authorization=f"Bearer {tenant.admin_key}"))
        async with database.transaction() as db:
            session, _ = await service.create(
                db, who, data=SessionCreate(input="checkout errors"), limits=Limits(), enqueue=_noop_enqueue
            )
        yield database, session.id
    finally:
        await database.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_concurrent_appends_keep_one_gapless_sequence(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with _one_session(backend, tmp_path, request) as (database, session_id):

        async def append(i: int) -> int:
            async with database.transaction() as db:
                data = {"i": i}
                return await repo.append_event(db, session_id=session_id, type_="step.started", ts=utcnow(), data=data)

        sequences = await asyncio.gather(*(append(i) for i in range(20)))
        async with database.reader() as db:
            stored = [e.sequence for e in await repo.events(db, session_id=session_id, limit=100)]
        assert sorted(sequences) == list(range(2, 22))  # 1 is the create's session.status
        assert stored == list(range(1, 22))


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_progress_sink_closed_mid_flush_loses_no_event(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The turn ends while the sink's periodic flush is writing a batch: that batch and every later event land,
    in order (a cancelled flush would roll its batch back and drop it)."""
    async with _one_session(backend, tmp_path, request) as (database, session_id):
        sink = EventSink(database, session_id)
        runner = asyncio.create_task(sink.run(interval=0.01))
        for i in range(30):
            sink.emit(ProgressEvent("evidence.found", "analyse", f"early {i}"))
        while sink.pending:  # the periodic flush has taken the batch and is now inside its transaction
            await asyncio.sleep(0)
        sink.emit(ProgressEvent("step.completed", "analyse", "late"))
        await sink.close(runner)
        assert runner.done() and not sink.pending
        async with database.reader() as db:
            stored = list(await repo.events(db, session_id=session_id, limit=100))
        assert [e.data["detail"] for e in stored[1:]] == [f"early {i}" for i in range(30)] + ["late"]
        assert [e.sequence for e in stored] == list(range(1, 33))
