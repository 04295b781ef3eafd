"""The composition of one turn: session context from the database, sources from the connector registry, the
answer from the engine. Progress is written to the session's event log as it happens."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tracehound.agents import capabilities as caps
from tracehound.connectors.llm import LlmConfig
from tracehound.connectors.registry import build_sources
from tracehound.db.database import Database
from tracehound.engine.followup import answer_follow_up
from tracehound.engine.investigate import investigate
from tracehound.engine.llm.narrate import narrate_report
from tracehound.engine.ports import ChatModel, Sources
from tracehound.engine.report import Report
from tracehound.engine.types import Incident, ProgressEvent
from tracehound.investigations.modes import missing_time_question, plan, short_markdown
from tracehound.kit.clock import ensure_utc, utcnow
from tracehound.kit.errors import NotFound
from tracehound.models import Agent
from tracehound.sessions import repository as session_repo
from tracehound.sessions.service import Turn
from tracehound.sources.service import list_sources

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    markdown: str
    report: dict[str, Any] | None
    usage: dict[str, Any]


@dataclass
class EventSink:
    """Buffers the engine's progress events and writes them to the session's event log in small batches.

    ``run`` flushes every ``interval`` until ``close`` asks it to stop; it is never cancelled, because a flush
    cancelled mid-transaction would roll back (and lose) the batch it had already taken from ``pending``."""

    database: Database
    session_id: str
    pending: list[ProgressEvent] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def emit(self, event: ProgressEvent) -> None:
        self.pending.append(event)

    async def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            async with self.database.transaction() as db:
                for ev in batch:
                    data = {"step": ev.step, "detail": ev.detail, **ev.data}
                    await session_repo.append_event(
                        db, session_id=self.session_id, type_=ev.kind, ts=utcnow(), data=data
                    )
        except BaseException:
            self.pending[:0] = batch  # nothing was written: keep the batch, in order, for the next flush
            raise

    async def run(self, interval: float = 0.5) -> None:
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), interval)
            await self.flush()

    async def close(self, runner: asyncio.Task[None]) -> None:
        """Stops ``runner`` (this sink's ``run``) after the flush it may be in, then writes what is left."""
        self.stopping.set()
        with contextlib.suppress(Exception):
            await runner  # a failed periodic flush kept its batch: the final flush below retries it
        await self.flush()


@dataclass(frozen=True, slots=True)
class TurnContext:
    incident: Incident
    history: Sequence[tuple[str, str]]
    stored_report: dict[str, Any] | None
    specs: list[tuple[str, dict[str, Any]]]
    thinking_mode: str
    signals: frozenset[str]  # empty = every signal
    model_id: str | None = None  # the session's model, else its agent's default


async def _context(database: Database, turn: Turn) -> TurnContext:
    async with database.reader() as db:
        session = await session_repo.get_any(db, turn.session_id)
        if session is None:
            raise NotFound(f"Session {turn.session_id} vanished.")
        messages = await session_repo.messages(db, session.id)
        agent = None if session.agent_id is None else await db.get(Agent, session.agent_id)
        effective = caps.effective(caps.combine(agent.capabilities if agent else [], session.capabilities or []))
        specs = [
            (s.kind, s.config)
            for s in await list_sources(db, org_id=session.org_id)
            if not effective.source_names or s.name in effective.source_names
        ]
        incident = Incident(
            text=session.input,
            created_at=ensure_utc(session.created_at),
            time=None if session.incident_time is None else ensure_utc(session.incident_time),
            title=session.title,
            context=agent.system_prompt if agent else None,
        )
        history = [(m.role, m.markdown_content) for m in messages]
        model_id = session.model_id or (agent.default_model_id if agent else None)
        return TurnContext(incident, history, session.report, specs, session.thinking_mode, effective.signals, model_id)


async def mark_started(database: Database, turn: Turn) -> None:
    async with database.transaction() as db:
        session = await session_repo.get_any(db, turn.session_id)
        if session is None or session.active_turn != turn.turn_id:
            return
        now = utcnow()
        if session.started_at is None:
            session.started_at = now
        await session_repo.append_event(
            db,
            session_id=session.id,
            type_="turn.started",
            ts=now,
            data={"turn": turn.turn_id, "kind": turn.kind},
        )


async def run_turn(database: Database, turn: Turn, *, llm: LlmConfig | None = None) -> TurnOutcome:
    """Investigate (first turn) or answer a follow-up, with the language model when ``llm`` is configured.
    Raises on failure; the caller records it."""
    started = time.monotonic()
    ctx = await _context(database, turn)
    chat = llm.chat_model(ctx.model_id) if llm is not None else None
    sources = _only(ctx.signals, build_sources(ctx.specs, anchor=ctx.incident.time or ctx.incident.created_at))
    sink = EventSink(database, turn.session_id)
    flusher = asyncio.create_task(sink.run())
    try:
        if turn.kind == "investigation" or ctx.stored_report is None:
            outcome = await _investigate(ctx, sources, sink, chat)
        else:
            outcome = await _follow_up(ctx, sources, sink, chat)
    finally:
        await sink.close(flusher)
    outcome.usage["wall_time_ms"] = int((time.monotonic() - started) * 1000)
    return outcome


def _only(signals: frozenset[str], sources: Sources) -> Sources:
    """The signals an agent's capabilities allow (all when it names none)."""
    if not signals:
        return sources
    return Sources(
        metrics=sources.metrics if "metrics" in signals else None,
        logs=sources.logs if "logs" in signals else None,
        traces=sources.traces if "traces" in signals else None,
        changes=sources.changes if "changes" in signals else None,
        call_graph=sources.call_graph,
    )


# The engine's analysis is CPU-bound: on the event loop it would stall every request of the embedded server (and
# every heartbeat of a worker) for as long as it runs. It runs on a thread of its own, with its own event loop
# for the sources' I/O; the API's loop keeps the GIL's turn every few milliseconds.
_ENGINE_THREADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="engine")


async def off_loop(work: Coroutine[Any, Any, T]) -> T:
    """Runs ``work`` to completion on an engine thread and its own event loop."""
    return await asyncio.get_running_loop().run_in_executor(_ENGINE_THREADS, asyncio.run, work)


async def _investigate(ctx: TurnContext, sources: Sources, sink: EventSink, chat: ChatModel | None) -> TurnOutcome:
    chosen = plan(ctx.thinking_mode, ctx.incident)
    sink.emit(ProgressEvent("step.completed", "plan", f"{chosen.mode} mode: {chosen.reason}", {"mode": chosen.mode}))
    loop = asyncio.get_running_loop()

    def progress(event: ProgressEvent) -> None:  # called on the engine thread
        loop.call_soon_threadsafe(sink.emit, event)

    report = await off_loop(investigate(ctx.incident, chosen.sources(sources), progress=progress, config=chosen.config))
    data = report.to_dict()
    data["thinking_mode"] = {"requested": ctx.thinking_mode, "used": chosen.mode, "reason": chosen.reason}
    markdown = short_markdown(data, chosen.reason) if chosen.mode == "fast" else report.to_markdown()
    narration = await narrate_report(report, chat)
    data["narration"] = narration.meta
    markdown = narration.compose(markdown)
    if chosen.mode != "fast" and not chosen.has_start_time and not sources.empty:
        markdown = missing_time_question(ctx.incident) + markdown
    return TurnOutcome(markdown, data, {**report.usage, **narration.usage})


async def _follow_up(ctx: TurnContext, sources: Sources, sink: EventSink, chat: ChatModel | None) -> TurnOutcome:
    """A fast follow-up answers from the stored evidence only; auto and deep may query the sources again."""
    assert ctx.stored_report is not None
    question = next((text for role, text in reversed(ctx.history) if role == "user"), "")
    answer = await off_loop(
        answer_follow_up(
            question,
            incident=ctx.incident,
            report=Report.from_dict(_engine_fields(ctx.stored_report)),
            history=ctx.history,
            sources=Sources() if ctx.thinking_mode == "fast" else sources,
            now=utcnow(),
            chat=chat,
        )
    )
    intent = answer.meta.get("intent") or {}
    detail = f"understood as {intent.get('name')} by {answer.meta.get('interpreted_by')}"
    sink.emit(ProgressEvent("step.completed", "follow_up", detail, dict(answer.meta)))
    return TurnOutcome(answer.markdown, None, dict(answer.usage))


def _engine_fields(stored: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stored.items() if k not in ("thinking_mode", "narration")}
