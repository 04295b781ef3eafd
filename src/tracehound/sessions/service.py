"""The rules of sessions: admission (limit + idempotency), follow-ups, reads, and the end of a turn.

Admission is one transaction that locks the organisation, checks the idempotency key, counts running sessions,
writes the session and its first message, and enqueues the durable workflow in the same database transaction:
either everything happens or nothing does, in any number of processes.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.agents import capabilities as caps
from tracehound.agents import service as agents
from tracehound.agents.service import AGENT_ID
from tracehound.auth.principal import Principal
from tracehound.auth.service import require_admin
from tracehound.kit.clock import utcnow
from tracehound.kit.errors import Conflict, InvalidRequest, NotFound, TooManyRunning
from tracehound.kit.ids import new_id, parse_uuid
from tracehound.kit.usage import add_usage
from tracehound.kit.validation import SQL_INT_MAX
from tracehound.models import RUNNING_STATUSES, Message, Session
from tracehound.sessions import repository as repo
from tracehound.sessions.schemas import TITLE_MAX, MessageCreate, SessionCreate, parse_iso8601
from tracehound.sessions.wire import session_dict, truncate


@dataclass(frozen=True, slots=True)
class Turn:
    """One unit of durable work: the first investigation or one follow-up. ``turn_id`` is the workflow id."""

    session_id: str
    turn_id: str
    assistant_message_id: str
    kind: str  # investigation | follow_up


Enqueue = Callable[[AsyncSession, Turn], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Limits:
    session_timeout_seconds: float = 3600.0
    max_input_chars: int = 100_000
    retry_after_429: int = 30
    retry_after_409: int = 5


def make_title(text: str, limit: int = 80) -> str:
    """A title from the input: its first sentence or line, cut at a word boundary."""
    first = re.split(r"(?<=[.!?])\s|\n", text.strip(), maxsplit=1)[0].strip()
    first = " ".join(first.split()) or "Investigation"
    if len(first) <= limit:
        return first.rstrip(".")
    cut = first[:limit].rsplit(" ", 1)[0]
    return (cut or first[:limit]).rstrip(" ,;:.") + "…"


def _check_input(text: str, limits: Limits) -> None:
    if len(text) > limits.max_input_chars:
        raise InvalidRequest(f"input: must be at most {limits.max_input_chars} characters (got {len(text)}).")


def _too_many(principal: Principal, running: int, limits: Limits) -> TooManyRunning:
    return TooManyRunning(
        f"Organization '{principal.org_name}' already has {running} running sessions "
        f"(limit {principal.max_running}). Retry when one finishes.",
        retry_after=limits.retry_after_429,
    )


async def create(
    db: AsyncSession,
    principal: Principal,
    *,
    data: SessionCreate,
    limits: Limits,
    enqueue: Enqueue,
    origin: str = "api",
) -> tuple[Session, bool]:
    """Returns (session, created). An existing idempotency key returns the original session unchanged."""
    _check_input(data.input, limits)
    org = await repo.lock_org(db, principal.org_id)
    if data.idempotency_key is not None:
        existing = await repo.by_idempotency_key(db, org_id=org.id, key=data.idempotency_key)
        if existing is not None:
            return existing, False
    agent = await agents.for_session(db, principal, data.agent_id)
    session_caps = await agents.validated_capabilities(db, org.id, data.capabilities or [], field="capabilities")
    mode = data.thinking_mode or caps.effective(caps.combine(agent.capabilities, session_caps)).thinking_mode
    running = await repo.count_running(db, org.id)
    if running >= org.max_running:
        raise _too_many(principal, running, limits)
    now = utcnow()
    session_id, user_msg_id, answer_id = new_id(), new_id(), new_id()
    session = Session(
        id=session_id,
        org_id=org.id,
        user_id=principal.user_id,
        origin=origin,
        title=(data.title if data.title is not None else make_title(data.input))[:TITLE_MAX],
        input=data.input,
        incident_time=data.incident_time(),
        idempotency_key=data.idempotency_key,
        status="running",
        thinking_mode=mode or "auto",
        agent_id=agent.id,
        capabilities=session_caps,
        model_id=data.model_id,
        tags=list(dict.fromkeys(data.tags or [])),
        report=None,
        usage={},
        output_preview=None,
        active_turn=session_id,
        pending_message_id=answer_id,
        created_at=now,
        updated_at=now,
        started_at=None,
        finished_at=None,
        deadline_at=now + timedelta(seconds=limits.session_timeout_seconds),
    )
    db.add(session)
    await db.flush()  # no ORM relationships: write the parent row before its children
    db.add(
        Message(
            id=user_msg_id,
            session_id=session_id,
            seq=1,
            role="user",
            markdown_content=data.input,
            created_at=now,
        )
    )
    if origin == "api":
        org.api_session_count += 1
    await db.flush()
    await repo.append_event(db, session_id=session_id, type_="session.status", ts=now, data={"status": "running"})
    await enqueue(db, Turn(session_id, session_id, answer_id, "investigation"))
    return session, True


async def follow_up(
    db: AsyncSession,
    principal: Principal,
    *,
    session_id: str,
    data: MessageCreate,
    limits: Limits,
    enqueue: Enqueue,
) -> tuple[Session, str, str]:
    """Returns (session, user_message_id, assistant_message_id)."""
    _check_input(data.input, limits)
    canonical = _canonical_id(session_id)
    org = await repo.lock_org(db, principal.org_id)
    session = await repo.get(db, org_id=org.id, session_id=canonical, for_update=True)
    if session is None:
        raise _not_found(session_id)
    if session.status != "idle":
        raise _not_idle(session, limits)
    running = await repo.count_running(db, org.id)
    if running >= org.max_running:
        raise _too_many(principal, running, limits)
    now = utcnow()
    user_msg_id, answer_id = new_id(), new_id()
    seq = await repo.next_message_seq(db, session.id)
    db.add(
        Message(
            id=user_msg_id,
            session_id=session.id,
            seq=seq,
            role="user",
            markdown_content=data.input,
            created_at=now,
        )
    )
    turn_id = f"{session.id}:{user_msg_id}"
    session.status = "follow_up_running"
    session.thinking_mode = data.thinking_mode or "auto"
    session.active_turn = turn_id
    session.pending_message_id = answer_id
    session.updated_at = now
    session.finished_at = None
    session.deadline_at = now + timedelta(seconds=limits.session_timeout_seconds)
    await db.flush()
    await repo.append_event(
        db, session_id=session.id, type_="session.status", ts=now, data={"status": "follow_up_running"}
    )
    await enqueue(db, Turn(session.id, turn_id, answer_id, "follow_up"))
    return session, user_msg_id, answer_id


def _canonical_id(session_id: str) -> str:
    canonical = parse_uuid(session_id)
    if canonical is None:
        raise _not_found(session_id)
    return canonical


def _not_found(session_id: str) -> NotFound:
    return NotFound(f"Session '{session_id[:80]}' not found in your organization.")


def _not_idle(session: Session, limits: Limits) -> Conflict:
    if session.status == "failed":
        return Conflict("Session has failed and cannot take follow-ups; start a new session.", retry_after=None)
    return Conflict(
        f"Session is '{session.status}'; follow-ups are accepted only when it is 'idle'.",
        retry_after=limits.retry_after_409,
    )


async def get(db: AsyncSession, principal: Principal, *, session_id: str) -> tuple[Session, Sequence[Message]]:
    session = await repo.get(db, org_id=principal.org_id, session_id=_canonical_id(session_id))
    if session is None:
        raise _not_found(session_id)
    return session, await repo.messages(db, session.id)


def read_session(conn: Connection, principal: Principal, *, session_id: str) -> dict[str, Any]:
    """``GET /v1/sessions/{id}``: the session with its messages and report, as it goes over the wire. Sync, for
    ``Database.read`` (the hottest read of the API)."""
    session = repo.session_record(conn, org_id=principal.org_id, session_id=_canonical_id(session_id))
    if session is None:
        raise _not_found(session_id)
    return session_dict(session, messages=repo.message_records(conn, session.id), include_report=True)


@dataclass(frozen=True, slots=True)
class Page:
    sessions: Sequence[Session]
    total: int
    page: int | None
    limit: int | None

    @property
    def prev(self) -> int | None:
        return self.page - 1 if self.page is not None and self.page > 1 else None

    @property
    def next(self) -> int | None:
        if self.page is None or self.limit is None:
            return None
        return self.page + 1 if self.page * self.limit < self.total else None


DEFAULT_PAGE_LIMIT = 50
MAX_PAGE_LIMIT = 1000


async def list_page(
    db: AsyncSession, principal: Principal, *, page: int | None, limit: int | None, filters: ListFilters | None = None
) -> Page:
    """Traversal's list: both omitted -> every session; only ``limit`` -> page 1; only ``page`` -> 50 a page."""
    require_admin(principal, "Listing sessions (GET /v1/sessions)")
    if limit is not None and limit > MAX_PAGE_LIMIT:
        raise InvalidRequest(f"limit: must be at most {MAX_PAGE_LIMIT}.")
    if page is not None and page > SQL_INT_MAX:
        raise InvalidRequest(f"page: must be at most {SQL_INT_MAX}.")
    f = _filter(principal, filters or ListFilters())
    if page is None and limit is None:
        rows = await repo.page(db, f, offset=0, limit=None)
        return Page(rows, len(rows), None, None)
    page = page or 1
    limit = limit or DEFAULT_PAGE_LIMIT
    total = await repo.count(db, f)
    offset = (page - 1) * limit
    # past the end the page is empty: no query (an offset beyond 2**63 would not even fit the SQL integer)
    rows = await repo.page(db, f, offset=offset, limit=limit) if offset < total else []
    return Page(rows, total, page, limit)


@dataclass(frozen=True, slots=True)
class ListFilters:
    """Additive filters of the list endpoints (Everruns-style)."""

    agent_id: str | None = None
    tags: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    created_after: str | None = None
    created_before: str | None = None
    origin: str = "api"  # api (the Traversal list) or alert (sessions opened by Alertmanager / PagerDuty)


STATUSES = ("running", "idle", "follow_up_running", "failed")
LISTED_ORIGINS = ("api", "alert")


def _filter(principal: Principal, given: ListFilters) -> repo.SessionFilter:
    for status in given.statuses:
        if status not in STATUSES:
            raise InvalidRequest(f"status: '{status[:32]}' is not one of {', '.join(STATUSES)}.")
    if given.origin not in LISTED_ORIGINS:
        raise InvalidRequest(f"origin: '{given.origin[:32]}' is not one of {', '.join(LISTED_ORIGINS)}.")
    if given.agent_id is not None and not AGENT_ID.match(given.agent_id):
        raise InvalidRequest("agent_id: must look like agent_<32 lowercase hex>.")
    bounds = {}
    for name in ("created_after", "created_before"):
        value = getattr(given, name)
        if value is not None:
            try:
                bounds[name] = parse_iso8601(value)
            except ValueError as exc:
                raise InvalidRequest(f"{name}: {exc}") from exc
    return repo.SessionFilter(
        org_id=principal.org_id,
        origin=given.origin,
        agent_id=given.agent_id,
        tags=given.tags,
        statuses=given.statuses,
        created_after=bounds.get("created_after"),
        created_before=bounds.get("created_before"),
    )


async def list_offset(
    db: AsyncSession, principal: Principal, *, filters: ListFilters, offset: int, limit: int
) -> tuple[Sequence[Session], int]:
    """The Everruns-shaped listing: ``offset`` + ``limit`` (1..100)."""
    require_admin(principal, "Listing sessions")
    f = _filter(principal, filters)
    total = await repo.count(db, f)
    return (await repo.page(db, f, offset=offset, limit=limit) if offset < total else []), total


# --- the worker's side ---------------------------------------------------------------------------------------


async def finish_turn(
    db: AsyncSession,
    turn: Turn,
    *,
    failed: bool,
    markdown: str,
    report: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
) -> bool:
    """Write the assistant's answer and leave the running state, once. False when the turn was already ended
    (by the deadline sweeper, or by an earlier run of the same step)."""
    now = utcnow()
    values: dict[str, Any] = {"output_preview": truncate(markdown)}
    if report is not None:
        values["report"] = report
    current = await repo.get_any(db, turn.session_id)
    if usage is not None:
        values["usage"] = add_usage(current.usage if current is not None else None, usage)
    status = "failed" if failed else "idle"
    if not await repo.finish_turn(
        db, session_id=turn.session_id, turn_id=turn.turn_id, status=status, now=now, values=values
    ):
        return False
    if usage is not None and current is not None and current.agent_id is not None:
        await agents.add_usage(db, current.agent_id, usage)
    seq = await repo.next_message_seq(db, turn.session_id)
    db.add(
        Message(
            id=turn.assistant_message_id,
            session_id=turn.session_id,
            seq=seq,
            role="assistant",
            markdown_content=markdown,
            created_at=now,
        )
    )
    await db.flush()
    await repo.append_event(
        db,
        session_id=turn.session_id,
        type_="message.completed",
        ts=now,
        data={"message_id": turn.assistant_message_id},
    )
    await repo.append_event(
        db,
        session_id=turn.session_id,
        type_="session.failed" if failed else "session.idled",
        ts=now,
        data={"status": status},
    )
    return True


async def cancel(db: AsyncSession, principal: Principal, *, session_id: str) -> tuple[Session, str | None]:
    """End the running turn as ``idle`` with a message saying it was cancelled. Returns (session, cancelled turn id
    or None when nothing was running)."""
    canonical = _canonical_id(session_id)
    await repo.lock_org(db, principal.org_id)
    session = await repo.get(db, org_id=principal.org_id, session_id=canonical, for_update=True)
    if session is None:
        raise _not_found(session_id)
    turn = turn_of(session)
    if session.status not in RUNNING_STATUSES or turn is None:
        return session, None
    markdown = (
        "## Cancelled\n\n"
        f"This {'investigation' if turn.kind == 'investigation' else 'follow-up'} was cancelled at the request of "
        f"{principal.email}; nothing was concluded. Send a follow-up to ask again."
    )
    await finish_turn(db, turn, failed=False, markdown=markdown)
    await db.refresh(session)
    return session, turn.turn_id


def turn_of(session: Session) -> Turn | None:
    if session.active_turn is None or session.pending_message_id is None:
        return None
    kind = "investigation" if session.active_turn == session.id else "follow_up"
    return Turn(session.id, session.active_turn, session.pending_message_id, kind)
