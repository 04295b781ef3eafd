"""Worker heartbeats and the reaper.

Open-source DBOS recovers a dead executor's workflows only when an executor with the same id restarts. Each
worker therefore upserts a heartbeat row every few seconds; a worker that finds another's row older than the
TTL deletes it (exactly one worker wins that delete) and re-queues the dead executor's pending workflows, which
any live worker then resumes at the step that was in flight.
"""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import datetime, timedelta

from dbos import DBOS
from sqlalchemy import delete, select

from tracehound.db.database import Database
from tracehound.kit.clock import ensure_utc, utcnow
from tracehound.models import ExecutorHeartbeat


def recover_executor(executor_id: str) -> int:
    """Re-queue the pending workflows of ``executor_id``. Uses DBOS's internal recovery entry point; the test
    suite checks that it still exists and behaves (tests/integration/test_worker_recovery.py)."""
    handles = DBOS._recover_pending_workflows([executor_id])
    return len(handles)


async def beat(database: Database, executor_id: str, *, started_at: datetime) -> None:
    async with database.transaction() as db:
        row = await db.get(ExecutorHeartbeat, executor_id)
        now = utcnow()
        if row is None:
            db.add(
                ExecutorHeartbeat(
                    executor_id=executor_id,
                    hostname=socket.gethostname()[:255],
                    pid=os.getpid(),
                    started_at=started_at,
                    last_seen=now,
                )
            )
        else:
            row.last_seen, row.pid = now, os.getpid()


async def claim_dead(database: Database, executor_id: str, *, ttl_seconds: float) -> list[str]:
    """Executors whose heartbeat is older than the TTL and which this worker won the right to recover."""
    cutoff = utcnow() - timedelta(seconds=ttl_seconds)
    async with database.reader() as db:
        rows = (await db.execute(select(ExecutorHeartbeat))).scalars().all()
        stale = [r.executor_id for r in rows if r.executor_id != executor_id and ensure_utc(r.last_seen) < cutoff]
    won = []
    for dead in stale:
        async with database.transaction() as db:
            result = await db.execute(
                delete(ExecutorHeartbeat).where(
                    ExecutorHeartbeat.executor_id == dead, ExecutorHeartbeat.last_seen < cutoff
                )
            )
            if getattr(result, "rowcount", 0) == 1:
                won.append(dead)
    return won


async def liveness_loop(database: Database, executor_id: str, *, interval: float, ttl: float) -> None:
    started_at = utcnow()
    while True:
        try:
            await beat(database, executor_id, started_at=started_at)
            for dead in await claim_dead(database, executor_id, ttl_seconds=ttl):
                count = await asyncio.to_thread(recover_executor, dead)
                DBOS.logger.warning("executor %s missed its heartbeat: re-queued %d workflows", dead, count)
        except Exception:
            DBOS.logger.exception("heartbeat failed; retrying")
        await asyncio.sleep(interval)
