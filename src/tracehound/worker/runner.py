"""Start and stop a worker inside a running event loop (the embedded server's, or ``tracehound worker``'s)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from dataclasses import dataclass, field

from dbos import DBOS

from tracehound.connectors.llm import LlmConfig
from tracehound.db.database import Database
from tracehound.integrations.webhooks import retry_delays
from tracehound.worker.enqueue import DbosEnqueuer
from tracehound.worker.liveness import liveness_loop
from tracehound.worker.sweeper import sweeper_loop
from tracehound.worker.workflows import APP_VERSION, QUEUE_NAME, WEBHOOK_QUEUE_NAME, WorkerContext, install


def default_executor_id(embedded_sqlite: bool) -> str:
    """SQLite's single embedded process keeps one stable id, so a restart resumes its own workflows at once.
    Scale-out workers get unique ids; the reaper recovers a dead one's work."""
    return "local" if embedded_sqlite else f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    executor_id: str
    step_timeout_seconds: float = 900.0
    session_timeout_seconds: float = 3600.0
    heartbeat_interval_seconds: float = 2.0
    heartbeat_ttl_seconds: float = 10.0
    sweep_interval_seconds: float = 5.0
    queue_polling_interval_seconds: float = 0.1
    worker_concurrency: int = 8
    log_level: str = "INFO"
    webhook_max_attempts: int = 10
    webhook_retry_base_seconds: float = 10.0
    webhook_retry_max_seconds: float = 3600.0
    llm: LlmConfig | None = None

    def webhook_delays(self) -> tuple[float, ...]:
        return tuple(
            retry_delays(
                attempts=self.webhook_max_attempts,
                base_seconds=self.webhook_retry_base_seconds,
                max_seconds=self.webhook_retry_max_seconds,
            )
        )


@dataclass
class Worker:
    database: Database
    options: WorkerOptions
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    enqueuer: DbosEnqueuer | None = None

    async def start(self) -> None:
        """Call from inside the event loop that should run the workflows."""
        self.enqueuer = DbosEnqueuer(self.database.urls.dbos_url)
        install(
            WorkerContext(
                self.database,
                self.options.step_timeout_seconds,
                deliveries=self.enqueuer.delivery,
                webhook_delays=self.options.webhook_delays(),
                llm=self.options.llm,
            )
        )
        DBOS(
            config={
                "name": "tracehound",
                "system_database_url": self.database.urls.dbos_url,
                "executor_id": self.options.executor_id,
                "application_version": APP_VERSION,
                "log_level": self.options.log_level,
                "notification_listener_polling_interval_sec": 0.2,
                "run_migrations": False,
            }
        )
        # Launched from this thread, so DBOS runs the async workflows on this very event loop, which also
        # owns the database connections the steps use. It blocks for a moment (recovery scan): startup only.
        DBOS.launch()
        await self._register_queues()
        self.tasks = self._background_tasks(self.enqueuer)

    async def _register_queues(self) -> None:
        await DBOS.register_queue_async(
            QUEUE_NAME,
            worker_concurrency=self.options.worker_concurrency,
            polling_interval_sec=self.options.queue_polling_interval_seconds,
            on_conflict="always_update",
        )
        # No concurrency limit: a delivery waiting for its next attempt sleeps inside its workflow, and a limit
        # would let sleeping deliveries hold every slot.
        await DBOS.register_queue_async(
            WEBHOOK_QUEUE_NAME,
            polling_interval_sec=max(0.5, self.options.queue_polling_interval_seconds),
            on_conflict="always_update",
        )

    def _background_tasks(self, enqueuer: DbosEnqueuer) -> list[asyncio.Task[None]]:
        o = self.options
        return [
            asyncio.create_task(
                liveness_loop(
                    self.database,
                    o.executor_id,
                    interval=o.heartbeat_interval_seconds,
                    ttl=o.heartbeat_ttl_seconds,
                )
            ),
            asyncio.create_task(
                sweeper_loop(
                    self.database,
                    interval=o.sweep_interval_seconds,
                    timeout_seconds=o.session_timeout_seconds,
                    deliveries=enqueuer.delivery,
                )
            ),
        ]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.to_thread(DBOS.destroy)
        if self.enqueuer is not None:
            self.enqueuer.close()
