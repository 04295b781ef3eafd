"""The composition of one turn: session context from the database, sources from the connector registry, the
answer from the engine. Progress is written to the session's event log as it happens."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tracehound.connectors.registry import build_sources
from tracehound.db.database import Database
from tracehound.engine.followup import answer_follow_up
from tracehound.engine.investigate import investigate
from tracehound.engine.report import Report
from tracehound.engine.types import Incident, ProgressEvent
from tracehound.kit.clock import ensure_utc, utcnow
from tracehound.kit.errors import NotFound
from tracehound.sessions import repository as session_repo
from tracehound.sessions.service import Turn
from tracehound.sources.service import list_sources


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    markdown: str
    report: dict[str, Any] | None
    usage: dict[str, Any]


@dataclass
class _EventSink:
    """Buffers the engine's progress events and writes them to the session's event log in small batches."""

    database: Database
    session_id: str
    pending: list[ProgressEvent] = field(default_factory=list)

    def emit(self, event: ProgressEvent) -> None:
        self.pending.append(event)

    async def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        async with self.database.transaction() as db:
            for ev in batch:
                data = {"step": ev.step, "detail": ev.detail, **ev.data}
                await session_repo.append_event(db, session_id=self.session_id, type_=ev.kind, ts=utcnow(), data=data)

    async def run(self, interval: float = 0.5) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.flush()


async def _context(database: Database, turn: Turn) -> tuple[Incident, Sequence[tuple[str, str]], Any, list[Any]]:
    async with database.reader() as db:
        session = await session_repo.get_any(db, turn.session_id)
        if session is None:
            raise NotFound(f"Session {turn.session_id} vanished.")
        messages = await session_repo.messages(db, session.id)
        specs = [(s.kind, s.config) for s in await list_sources(db, org_id=session.org_id)]
        incident = Incident(
            text=session.input,
            created_at=ensure_utc(session.created_at),
            time=None if session.incident_time is None else ensure_utc(session.incident_time),
            title=session.title,
        )
        history = [(m.role, m.markdown_content) for m in messages]
        return incident, history, session.report, specs


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


async def run_turn(database: Database, turn: Turn) -> TurnOutcome:
    """Investigate (first turn) or answer a follow-up. Raises on failure; the caller records it."""
    started = time.monotonic()
    incident, history, stored_report, specs = await _context(database, turn)
    sources = build_sources(specs, anchor=incident.time or incident.created_at)
    sink = _EventSink(database, turn.session_id)
    flusher = asyncio.create_task(sink.run())
    try:
        if turn.kind == "investigation" or stored_report is None:
            report = await investigate(incident, sources, progress=sink.emit)
            outcome = TurnOutcome(report.to_markdown(), report.to_dict(), dict(report.usage))
        else:
            question = next((text for role, text in reversed(history) if role == "user"), "")
            answer = await answer_follow_up(
                question,
                incident=incident,
                report=Report.from_dict(stored_report),
                history=history,
                sources=sources,
                now=utcnow(),
            )
            outcome = TurnOutcome(answer.markdown, None, dict(answer.usage))
    finally:
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        await sink.flush()
    outcome.usage["wall_time_ms"] = int((time.monotonic() - started) * 1000)
    return outcome
