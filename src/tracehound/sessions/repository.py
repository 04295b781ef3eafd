"""Queries for sessions, messages and session events."""

from __future__ import annotations

import json
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, cast, exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.models import RUNNING_STATUSES, Message, Organization, Session, SessionEvent
from tracehound.sessions.wire import MessageFields, SessionFields


def _is_postgres(db: AsyncSession) -> bool:
    return db.get_bind().dialect.name == "postgresql"


async def lock_org(db: AsyncSession, org_id: str) -> Organization:
    """Serialise admissions of one organisation across processes (row lock; SQLite is already serialised by
    BEGIN IMMEDIATE)."""
    stmt = select(Organization).where(Organization.id == org_id)
    if _is_postgres(db):
        stmt = stmt.with_for_update()
    return (await db.execute(stmt)).scalar_one()


async def count_running(db: AsyncSession, org_id: str) -> int:
    stmt = select(func.count()).where(Session.org_id == org_id, Session.status.in_(RUNNING_STATUSES))
    return int((await db.execute(stmt)).scalar_one())


async def by_idempotency_key(db: AsyncSession, *, org_id: str, key: str) -> Session | None:
    stmt = select(Session).where(Session.org_id == org_id, Session.idempotency_key == key)
    return (await db.execute(stmt)).scalar_one_or_none()


async def get(db: AsyncSession, *, org_id: str, session_id: str, for_update: bool = False) -> Session | None:
    stmt = select(Session).where(Session.id == session_id, Session.org_id == org_id)
    if for_update and _is_postgres(db):
        stmt = stmt.with_for_update()
    return (await db.execute(stmt)).scalar_one_or_none()


_SESSIONS, _MESSAGES = Session.__table__, Message.__table__
# Built once: the statements of GET /v1/sessions/{id} (see Database.read).
_SESSION_BY_ID = select(_SESSIONS).where(
    _SESSIONS.c.id == bindparam("session_id"), _SESSIONS.c.org_id == bindparam("org_id")
)
_MESSAGES_OF = select(_MESSAGES).where(_MESSAGES.c.session_id == bindparam("session_id")).order_by(_MESSAGES.c.seq)


def session_record(conn: Connection, *, org_id: str, session_id: str) -> SessionFields | None:
    """The session's row (its columns as attributes), or None; sync, for ``Database.read``."""
    row = conn.execute(_SESSION_BY_ID, {"session_id": session_id, "org_id": org_id}).first()
    return typing.cast(SessionFields | None, row)


def message_records(conn: Connection, session_id: str) -> list[MessageFields]:
    """The session's messages in order (rows); sync, for ``Database.read``."""
    return typing.cast(list[MessageFields], list(conn.execute(_MESSAGES_OF, {"session_id": session_id})))


async def get_any(db: AsyncSession, session_id: str) -> Session | None:
    return await db.get(Session, session_id)


async def messages(db: AsyncSession, session_id: str) -> Sequence[Message]:
    stmt = select(Message).where(Message.session_id == session_id).order_by(Message.seq)
    return list((await db.execute(stmt)).scalars())


async def next_message_seq(db: AsyncSession, session_id: str) -> int:
    stmt = select(func.coalesce(func.max(Message.seq), 0)).where(Message.session_id == session_id)
    return int((await db.execute(stmt)).scalar_one()) + 1


@dataclass(frozen=True, slots=True)
class SessionFilter:
    org_id: str
    origin: str = "api"
    agent_id: str | None = None
    tags: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None

    @property
    def only_org(self) -> bool:
        return self.origin == "api" and not (
            self.agent_id or self.tags or self.statuses or self.created_after or self.created_before
        )


def _where(db: AsyncSession, f: SessionFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [Session.org_id == f.org_id, Session.origin == f.origin]
    if f.agent_id is not None:
        clauses.append(Session.agent_id == f.agent_id)
    if f.statuses:
        clauses.append(Session.status.in_(f.statuses))
    if f.created_after is not None:
        clauses.append(Session.created_at > f.created_after)
    if f.created_before is not None:
        clauses.append(Session.created_at < f.created_before)
    for tag in f.tags:
        if _is_postgres(db):
            clauses.append(Session.tags.op("@>")(cast(literal(json.dumps([tag])), JSONB)))
        else:
            each = func.json_each(Session.tags).table_valued("value")
            clauses.append(exists(select(1).select_from(each).where(each.c.value == tag)))
    return clauses


async def page(db: AsyncSession, f: SessionFilter, *, offset: int, limit: int | None) -> Sequence[Session]:
    """Newest first. A deferred join: the page's ids come from the (org_id, origin, created_at, id) index alone,
    so a deep OFFSET skips index entries rather than whole rows; then only those rows are read."""
    order = (Session.created_at.desc(), Session.id.desc())
    ids = select(Session.id).where(*_where(db, f)).order_by(*order).offset(offset)
    if limit is not None:
        ids = ids.limit(limit)
    page_ids = ids.subquery()
    stmt = select(Session).join(page_ids, page_ids.c.id == Session.id).order_by(*order)
    return list((await db.execute(stmt)).scalars())


async def api_total(db: AsyncSession, org_id: str) -> int:
    """The exact number of API-created sessions, kept by the admission transaction (no count over the table)."""
    stmt = select(Organization.api_session_count).where(Organization.id == org_id)
    return int((await db.execute(stmt)).scalar_one())


async def count(db: AsyncSession, f: SessionFilter) -> int:
    if f.only_org:
        return await api_total(db, f.org_id)
    return int((await db.execute(select(func.count()).where(*_where(db, f)))).scalar_one())


async def finish_turn(
    db: AsyncSession, *, session_id: str, turn_id: str, status: str, now: datetime, values: dict[str, Any]
) -> bool:
    """Move the session out of its running state, but only if ``turn_id`` is still its active turn."""
    stmt = (
        update(Session)
        .where(Session.id == session_id, Session.active_turn == turn_id)
        .values(
            status=status,
            active_turn=None,
            pending_message_id=None,
            finished_at=now,
            updated_at=now,
            **values,
        )
    )
    result = await db.execute(stmt)
    return bool(getattr(result, "rowcount", 0) == 1)


async def overdue(db: AsyncSession, *, now: datetime, limit: int = 100) -> Sequence[Session]:
    stmt = (
        select(Session)
        .where(Session.status.in_(RUNNING_STATUSES), Session.deadline_at < now)
        .order_by(Session.deadline_at)
        .limit(limit)
    )
    return list((await db.execute(stmt)).scalars())


async def running_without_turn(db: AsyncSession, *, before: datetime, limit: int = 100) -> Sequence[Session]:
    stmt = (
        select(Session)
        .where(Session.status.in_(RUNNING_STATUSES), Session.updated_at < before)
        .order_by(Session.updated_at)
        .limit(limit)
    )
    return list((await db.execute(stmt)).scalars())


async def append_event(db: AsyncSession, *, session_id: str, type_: str, ts: datetime, data: dict[str, Any]) -> int:
    """The next event of a session; returns its sequence. Writers of one session (the worker's progress, a cancel,
    the deadline sweeper) are serialised on the session's row (PostgreSQL; SQLite serialises every writer), so
    each gets the next number and none fails on the unique (session_id, sequence)."""
    if _is_postgres(db):
        await db.execute(select(Session.id).where(Session.id == session_id).with_for_update())
    seq_stmt = select(func.coalesce(func.max(SessionEvent.sequence), 0)).where(SessionEvent.session_id == session_id)
    seq = int((await db.execute(seq_stmt)).scalar_one()) + 1
    db.add(SessionEvent(session_id=session_id, sequence=seq, type=type_, ts=ts, data=data))
    await db.flush()
    return seq


async def events(
    db: AsyncSession, *, session_id: str, after_sequence: int = 0, limit: int = 500
) -> Sequence[SessionEvent]:
    stmt = (
        select(SessionEvent)
        .where(SessionEvent.session_id == session_id, SessionEvent.sequence > after_sequence)
        .order_by(SessionEvent.sequence)
        .limit(limit)
    )
    return list((await db.execute(stmt)).scalars())
