"""Composition root: builds the database, the enqueuer, the app and the worker from settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType

from fastapi import FastAPI
from sqlalchemy import func, select, text

from tracehound.api.app import create_app
from tracehound.api.deps import AppState
from tracehound.api.observability import Metrics
from tracehound.config import Settings
from tracehound.connectors.llm import LlmConfig
from tracehound.db.database import Database
from tracehound.db.migrate import migrate
from tracehound.models import Session
from tracehound.sessions.service import Limits
from tracehound.web.security import WebOptions, load_secret
from tracehound.worker.enqueue import DbosEnqueuer
from tracehound.worker.runner import Worker, WorkerOptions, default_executor_id
from tracehound.worker.workflows import QUEUE_NAME

log = logging.getLogger("tracehound.server")


def limits_from(settings: Settings) -> Limits:
    return Limits(
        session_timeout_seconds=settings.session_timeout_seconds,
        max_input_chars=settings.max_input_chars,
        retry_after_429=settings.retry_after_429,
        retry_after_409=settings.retry_after_409,
    )


def llm_config(settings: Settings) -> LlmConfig | None:
    """The language model endpoint, when one is configured (``TRACEHOUND_LLM_BASE_URL``)."""
    if not settings.llm_base_url:
        return None
    return LlmConfig(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key,
        timeout_seconds=settings.llm_timeout_seconds,
        json_mode=settings.llm_json_mode,
    )


def worker_options(settings: Settings, database: Database, executor_id: str | None = None) -> WorkerOptions:
    return WorkerOptions(
        executor_id=executor_id or settings.executor_id or default_executor_id(database.urls.is_sqlite),
        step_timeout_seconds=settings.step_timeout_seconds,
        session_timeout_seconds=settings.session_timeout_seconds,
        heartbeat_interval_seconds=settings.heartbeat_interval_seconds,
        heartbeat_ttl_seconds=settings.heartbeat_ttl_seconds,
        sweep_interval_seconds=settings.sweep_interval_seconds,
        queue_polling_interval_seconds=settings.queue_polling_interval_seconds,
        worker_concurrency=settings.worker_concurrency,
        log_level=settings.log_level,
        webhook_max_attempts=settings.webhook_max_attempts,
        webhook_retry_base_seconds=settings.webhook_retry_base_seconds,
        webhook_retry_max_seconds=settings.webhook_retry_max_seconds,
        llm=llm_config(settings),
    )


async def refresh_gauges(database: Database, metrics: Metrics) -> None:
    queue_table = "workflow_status" if database.urls.is_sqlite else "dbos.workflow_status"
    async with database.reader() as db:
        rows = (await db.execute(select(Session.status, func.count()).group_by(Session.status))).all()
        for status in ("running", "idle", "follow_up_running", "failed"):
            metrics.sessions.labels(status).set(0)
        for status, n in rows:
            metrics.sessions.labels(status).set(n)
        depth = (
            await db.execute(
                text(f"SELECT count(*) FROM {queue_table} WHERE queue_name = :q AND status = 'ENQUEUED'"),  # noqa: S608
                {"q": QUEUE_NAME},
            )
        ).scalar_one()
        metrics.queue_depth.set(depth)


async def _gauge_loop(database: Database, metrics: Metrics, interval: float = 5.0) -> None:
    while True:
        with contextlib.suppress(Exception):
            await refresh_gauges(database, metrics)
        await asyncio.sleep(interval)


def build_app(settings: Settings, *, run_worker: bool, executor_id: str | None = None) -> FastAPI:
    """The server. With ``run_worker`` the same process also executes investigations (the embedded mode)."""
    url = settings.resolved_database_url()
    migrate(url)
    database = Database(url)
    enqueuer = DbosEnqueuer(database.urls.dbos_url)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker = Worker(database, worker_options(settings, database, executor_id)) if run_worker else None
        if worker is not None:
            await worker.start()
            log.info("worker %s started (in-process)", worker.options.executor_id)
        gauges = asyncio.create_task(_gauge_loop(database, metrics))
        try:
            yield
        finally:
            gauges.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gauges
            if worker is not None:
                await worker.stop()
            enqueuer.close()
            await database.dispose()

    state = AppState(database=database, enqueue=enqueuer, cancel=enqueuer.cancel, limits=limits_from(settings))
    web_options = WebOptions(
        secret=load_secret(settings.secret_key, settings.data_dir),
        session_seconds=int(settings.web_session_hours * 3600),
        force_secure_cookie=settings.secure_cookies,
    )
    app = create_app(
        state, metrics=metrics, lifespan=lifespan, max_body_bytes=settings.max_body_bytes, web_options=web_options
    )
    app.state.sse_heartbeat_seconds = settings.sse_heartbeat_seconds
    return app


def serve(app: FastAPI, *, host: str, port: int) -> None:
    """Run ``app`` with uvicorn. On SIGTERM/SIGINT the app is marked ``draining`` first, so that open event streams
    end at once (their clients reconnect and resume) instead of holding the graceful shutdown for its full 10 s."""
    import uvicorn

    class DrainingServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            app.state.draining = True  # a plain flag: safe to set from a signal handler
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=10,
    )
    DrainingServer(config).run()


async def run_worker_forever(settings: Settings, *, executor_id: str | None = None) -> None:
    """``tracehound worker``: executes investigations until SIGTERM/SIGINT."""
    url = settings.resolved_database_url()
    await asyncio.to_thread(migrate, url)
    database = Database(url)
    worker = Worker(database, worker_options(settings, database, executor_id))
    await worker.start()
    log.info("worker %s started", worker.options.executor_id)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await worker.stop()
        await database.dispose()
