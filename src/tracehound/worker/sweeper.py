"""The durable server-side deadline: a session still running past its ``deadline_at`` (1 hour by default,
stored in the database, so restarts do not reset it) becomes ``failed`` with a message saying why, and its
workflow is cancelled."""

from __future__ import annotations

import asyncio

from dbos import DBOS

from tracehound.db.database import Database
from tracehound.integrations import webhooks
from tracehound.kit.clock import utcnow
from tracehound.sessions import repository as repo
from tracehound.sessions.service import finish_turn, turn_of
from tracehound.worker.workflows import failure_markdown, plan_webhooks


def _timeout_text(seconds: float) -> str:
    span = f"{seconds / 3600:g} hour" if seconds >= 3600 else f"{seconds:g} seconds"
    return f"The investigation did not finish within the server-side time limit ({span}) and was stopped."


async def sweep_once(
    database: Database, *, timeout_seconds: float, deliveries: webhooks.DeliveryEnqueue | None = None
) -> list[str]:
    """Fail every overdue session (queueing its ``session.failed`` webhooks in the same transaction); returns the
    ids of the turns it ended."""
    ended = []
    async with database.reader() as db:
        overdue = await repo.overdue(db, now=utcnow())
    for session in overdue:
        turn = turn_of(session)
        if turn is None:
            continue
        async with database.transaction() as db:
            if await finish_turn(db, turn, failed=True, markdown=failure_markdown(_timeout_text(timeout_seconds))):
                ended.append(turn.turn_id)
                if deliveries is not None:
                    await plan_webhooks(db, deliveries, session_id=session.id, turn_id=turn.turn_id)
    for turn_id in ended:
        try:
            await DBOS.cancel_workflow_async(turn_id)
        except Exception:
            DBOS.logger.exception("could not cancel workflow %s", turn_id)
    return ended


async def sweeper_loop(
    database: Database,
    *,
    interval: float,
    timeout_seconds: float,
    deliveries: webhooks.DeliveryEnqueue | None = None,
) -> None:
    while True:
        try:
            ended = await sweep_once(database, timeout_seconds=timeout_seconds, deliveries=deliveries)
            if ended:
                DBOS.logger.warning("deadline sweeper failed %d overdue sessions", len(ended))
        except Exception:
            DBOS.logger.exception("deadline sweep failed; retrying")
        await asyncio.sleep(interval)
