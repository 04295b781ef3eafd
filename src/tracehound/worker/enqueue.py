"""Enqueue a turn's workflow inside the caller's database transaction (the system database is the same one)."""

from __future__ import annotations

import asyncio
from typing import Any

from dbos import DBOSClient
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.sessions.service import Turn
from tracehound.worker.workflows import (
    APP_VERSION,
    QUEUE_NAME,
    WEBHOOK_QUEUE_NAME,
    WEBHOOK_WORKFLOW_NAME,
    WORKFLOW_NAME,
)

APPLICATION_NAME = "tracehound"


class DbosEnqueuer:
    """An :data:`~tracehound.sessions.service.Enqueue`: writes the workflow row in the same transaction as the
    session, so a session exists if and only if its work is queued."""

    def __init__(self, dbos_url: str) -> None:
        self.client = DBOSClient(system_database_url=dbos_url, lazy=True, application_name=APPLICATION_NAME)

    async def __call__(self, db: AsyncSession, turn: Turn) -> None:
        options: Any = {
            "workflow_name": WORKFLOW_NAME,
            "queue_name": QUEUE_NAME,
            "workflow_id": turn.turn_id,
            "app_version": APP_VERSION,
        }
        args = (turn.session_id, turn.turn_id, turn.assistant_message_id, turn.kind)
        conn = await db.connection()
        await conn.run_sync(lambda sync_conn: self.client.enqueue_in_transaction(sync_conn, options, *args))

    async def delivery(self, db: AsyncSession, delivery: dict[str, Any]) -> None:
        """A :data:`~tracehound.integrations.webhooks.DeliveryEnqueue`: the delivery's workflow, in ``db``'s
        transaction (workflow id ``webhook:<delivery id>``)."""
        options: Any = {
            "workflow_name": WEBHOOK_WORKFLOW_NAME,
            "queue_name": WEBHOOK_QUEUE_NAME,
            "workflow_id": f"webhook:{delivery['delivery_id']}",
            "app_version": APP_VERSION,
        }
        conn = await db.connection()
        await conn.run_sync(lambda sync_conn: self.client.enqueue_in_transaction(sync_conn, options, delivery))

    async def cancel(self, workflow_id: str) -> None:
        """Cancel a turn's workflow (a step in flight finishes, but its result is no longer written)."""
        await asyncio.to_thread(self.client.cancel_workflow, workflow_id)

    def close(self) -> None:
        self.client.destroy()
