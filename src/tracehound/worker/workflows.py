"""The durable workflow of one turn. Steps are idempotent: DBOS re-runs the step that was in flight when a
process died, never the finished ones.

    mark_started -> run_turn (engine, bounded by the step timeout) -> finish_turn (answer + status, once)
    -> plan_webhooks (completion webhooks: one delivery workflow per subscription, enqueued on its own queue)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from dbos import DBOS, SetWorkflowID

from tracehound.db.database import Database
from tracehound.integrations import service as integrations
from tracehound.investigations.service import mark_started, run_turn
from tracehound.sessions.service import Turn, finish_turn

APP_VERSION = "tracehound-1"  # pinned: bump only when a workflow's steps change incompatibly
QUEUE_NAME = "tracehound-turns"
WORKFLOW_NAME = "tracehound.turn"
WEBHOOK_QUEUE_NAME = "tracehound-webhooks"
WEBHOOK_WORKFLOW_NAME = "tracehound.webhook_delivery"


@dataclass(frozen=True, slots=True)
class WorkerContext:
    database: Database
    step_timeout_seconds: float


_context: WorkerContext | None = None


def install(context: WorkerContext) -> None:
    global _context
    _context = context


def _ctx() -> WorkerContext:
    if _context is None:
        raise RuntimeError("tracehound worker context not installed")
    return _context


def failure_markdown(reason: str) -> str:
    return (
        "## Investigation failed\n\n"
        f"{reason}\n\n"
        "Nothing was concluded. You can start a new session with the same description; "
        "if it fails again, an operator can find the cause in the server log under this session's id."
    )


def _reason(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return f"The investigation step took longer than its limit of {timeout:.0f} seconds and was stopped."
    return f"The investigation stopped with an error: {type(exc).__name__}: {str(exc)[:500]}"


@DBOS.step(name="tracehound.mark_started")
async def mark_started_step(session_id: str, turn_id: str, answer_id: str, kind: str) -> None:
    await mark_started(_ctx().database, Turn(session_id, turn_id, answer_id, kind))


@DBOS.step(name="tracehound.run_turn")
async def run_turn_step(session_id: str, turn_id: str, answer_id: str, kind: str) -> dict[str, Any]:
    ctx = _ctx()
    turn = Turn(session_id, turn_id, answer_id, kind)
    try:
        outcome = await asyncio.wait_for(run_turn(ctx.database, turn), timeout=ctx.step_timeout_seconds)
    except Exception as exc:  # recorded as a failed turn, never retried into a loop
        DBOS.logger.exception("turn %s failed", turn_id)
        return {"failed": True, "markdown": failure_markdown(_reason(exc, ctx.step_timeout_seconds))}
    return {"failed": False, "markdown": outcome.markdown, "report": outcome.report, "usage": outcome.usage}


@DBOS.step(name="tracehound.finish_turn")
async def finish_turn_step(session_id: str, turn_id: str, answer_id: str, kind: str, result: dict[str, Any]) -> bool:
    turn = Turn(session_id, turn_id, answer_id, kind)
    async with _ctx().database.transaction() as db:
        return await finish_turn(
            db,
            turn,
            failed=bool(result["failed"]),
            markdown=str(result["markdown"]),
            report=result.get("report"),
            usage=result.get("usage"),
        )


@DBOS.workflow(name=WORKFLOW_NAME)
async def turn_workflow(session_id: str, turn_id: str, answer_id: str, kind: str) -> str:
    await mark_started_step(session_id, turn_id, answer_id, kind)
    result = await run_turn_step(session_id, turn_id, answer_id, kind)
    if await finish_turn_step(session_id, turn_id, answer_id, kind, result):
        for delivery in await plan_webhooks_step(session_id, turn_id):
            with SetWorkflowID(f"webhook:{delivery['delivery_id']}"):
                await DBOS.enqueue_workflow_async(WEBHOOK_QUEUE_NAME, webhook_workflow, delivery)
    return "failed" if result["failed"] else "idle"


# --- completion webhooks: never block a turn; each delivery retries with exponential backoff ---------------------


@DBOS.step(name="tracehound.plan_webhooks")
async def plan_webhooks_step(session_id: str, turn_id: str) -> list[dict[str, Any]]:
    async with _ctx().database.transaction() as db:
        return await integrations.plan_deliveries(db, session_id=session_id, turn_id=turn_id)


@DBOS.step(name="tracehound.post_webhook", retries_allowed=True, max_attempts=6, interval_seconds=1.0, backoff_rate=2.0)
async def post_webhook_step(delivery: dict[str, Any]) -> int:
    """One attempt (DBOS retries it: 1 s, 2 s, 4 s, 8 s, 16 s apart). 0 when the subscription was deleted."""
    database = _ctx().database
    async with database.reader() as db:
        sub = await integrations.delivery_target(db, str(delivery["subscription_id"]))
        target = None if sub is None else (sub.url, sub.secret)
    if target is None:
        return 0
    status, error = await integrations.post_delivery(
        target[0],
        target[1],
        delivery_id=str(delivery["delivery_id"]),
        event_type=str(delivery["event_type"]),
        body=str(delivery["body"]),
    )
    async with database.transaction() as db:
        await integrations.record_attempt(
            db, str(delivery["delivery_id"]), status_code=status, error=error, final=False
        )
    if error is not None:
        raise integrations.DeliveryFailed(error)
    return status or 0


@DBOS.step(name="tracehound.fail_webhook")
async def fail_webhook_step(delivery_id: str, error: str) -> None:
    async with _ctx().database.transaction() as db:
        await integrations.mark_failed(db, delivery_id, error)


@DBOS.workflow(name=WEBHOOK_WORKFLOW_NAME)
async def webhook_workflow(delivery: dict[str, Any]) -> str:
    try:
        await post_webhook_step(delivery)
    except Exception as exc:  # every attempt failed: recorded, never raised into the queue
        await fail_webhook_step(str(delivery["delivery_id"]), f"{type(exc).__name__}: {exc}")
        return "failed"
    return "delivered"
