"""The durable workflow of one turn. Steps are idempotent: DBOS re-runs the step that was in flight when a
process died, never the finished ones.

    mark_started -> run_turn (engine, bounded by the step timeout) -> finish_turn (answer + status, once)
       + completion webhooks planned in the same transaction (one delivery workflow per subscription, on its
         own queue: see tracehound.integrations.webhooks)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from dbos import DBOS
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.connectors.llm import LlmConfig
from tracehound.db.database import Database
from tracehound.integrations import webhooks
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
    deliveries: webhooks.DeliveryEnqueue
    webhook_delays: tuple[float, ...] = (10.0, 30.0, 90.0, 270.0, 810.0, 2430.0, 3600.0, 3600.0, 3600.0)
    llm: LlmConfig | None = None  # the optional language model endpoint


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
        outcome = await asyncio.wait_for(run_turn(ctx.database, turn, llm=ctx.llm), timeout=ctx.step_timeout_seconds)
    except Exception as exc:  # recorded as a failed turn, never retried into a loop
        DBOS.logger.exception("turn %s failed", turn_id)
        return {"failed": True, "markdown": failure_markdown(_reason(exc, ctx.step_timeout_seconds))}
    return {"failed": False, "markdown": outcome.markdown, "report": outcome.report, "usage": outcome.usage}


@DBOS.step(name="tracehound.finish_turn")
async def finish_turn_step(session_id: str, turn_id: str, answer_id: str, kind: str, result: dict[str, Any]) -> bool:
    """Ends the turn and, in the same transaction, queues its completion webhooks (never blocking: a planning
    error is logged and the turn still ends)."""
    ctx = _ctx()
    turn = Turn(session_id, turn_id, answer_id, kind)
    async with ctx.database.transaction() as db:
        ended = await finish_turn(
            db,
            turn,
            failed=bool(result["failed"]),
            markdown=str(result["markdown"]),
            report=result.get("report"),
            usage=result.get("usage"),
        )
        if ended:
            await plan_webhooks(db, ctx.deliveries, session_id=session_id, turn_id=turn_id)
        return ended


async def plan_webhooks(
    db: AsyncSession, deliveries: webhooks.DeliveryEnqueue, *, session_id: str, turn_id: str
) -> None:
    """Plan a turn's webhooks in a savepoint of the transaction that ended it; a failure only loses them."""
    try:
        async with db.begin_nested():
            await webhooks.plan_deliveries(db, session_id=session_id, turn_id=turn_id, enqueue=deliveries)
    except Exception:
        DBOS.logger.exception("could not plan the completion webhooks of turn %s", turn_id)


@DBOS.workflow(name=WORKFLOW_NAME)
async def turn_workflow(session_id: str, turn_id: str, answer_id: str, kind: str) -> str:
    await mark_started_step(session_id, turn_id, answer_id, kind)
    result = await run_turn_step(session_id, turn_id, answer_id, kind)
    await finish_turn_step(session_id, turn_id, answer_id, kind, result)
    return "failed" if result["failed"] else "idle"


# --- completion webhooks: one workflow per delivery; durable sleeps between attempts ------------------------------


@DBOS.step(name="tracehound.webhook_schedule")
async def webhook_schedule_step() -> list[float]:
    """The waits between attempts, fixed when the delivery starts (recorded: a restart keeps the same plan)."""
    return list(_ctx().webhook_delays)


@DBOS.step(name="tracehound.post_webhook")
async def post_webhook_step(delivery: dict[str, Any], final: bool) -> str:
    """One attempt, recorded on the delivery: ``delivered``, ``retry``, ``failed`` (after the last attempt) or
    ``gone`` (the subscription was deleted)."""
    database = _ctx().database
    delivery_id = str(delivery["delivery_id"])
    async with database.reader() as db:
        where = await webhooks.target(db, str(delivery["subscription_id"]))
    if where is None:
        return "gone"
    status, error = await webhooks.post(
        where[0], where[1], delivery_id=delivery_id, event_type=str(delivery["event_type"]), body=str(delivery["body"])
    )
    async with database.transaction() as db:
        await webhooks.record_attempt(db, delivery_id, status_code=status, error=error, final=final)
    if error is None:
        return "delivered"
    return "failed" if final else "retry"


@DBOS.step(name="tracehound.fail_webhook")
async def fail_webhook_step(delivery_id: str, error: str) -> None:
    async with _ctx().database.transaction() as db:
        await webhooks.record_attempt(db, delivery_id, status_code=None, error=error[:500], final=True)


@DBOS.workflow(name=WEBHOOK_WORKFLOW_NAME)
async def webhook_workflow(delivery: dict[str, Any]) -> str:
    delays = await webhook_schedule_step()
    for attempt in range(len(delays) + 1):
        if attempt:
            await DBOS.sleep_async(delays[attempt - 1])
        final = attempt == len(delays)
        try:
            outcome = await post_webhook_step(delivery, final)
        except Exception as exc:  # the attempt itself broke (database): counted as a failed attempt
            DBOS.logger.exception("webhook delivery %s: attempt failed", delivery["delivery_id"])
            if final:
                await fail_webhook_step(str(delivery["delivery_id"]), f"{type(exc).__name__}: {exc}")
                return "failed"
            continue
        if outcome != "retry":
            return outcome
    return "failed"
