"""The web UI's own read queries: the session list with text search (the V1 list has none) across every origin."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, cast, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.auth.principal import Principal
from tracehound.models import Session

PER_PAGE = 20


@dataclass(frozen=True, slots=True)
class ListQuery:
    text: str = ""
    status: str = ""
    tag: str = ""
    page: int = 1


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _where(db: AsyncSession, principal: Principal, q: ListQuery) -> list[ColumnElement[bool]]:
    """An admin sees every session of the organisation; a member sees the sessions they started."""
    clauses: list[ColumnElement[bool]] = [Session.org_id == principal.org_id]
    if not principal.is_admin:
        clauses.append(Session.user_id == principal.user_id)
    if q.status:
        clauses.append(Session.status == q.status)
    if q.tag:
        if db.get_bind().dialect.name == "postgresql":
            clauses.append(Session.tags.op("@>")(cast(literal(json.dumps([q.tag])), JSONB)))
        else:
            each = func.json_each(Session.tags).table_valued("value")
            clauses.append(exists(select(1).select_from(each).where(each.c.value == q.tag)))
    if q.text:
        pattern = _like(q.text)
        clauses.append(or_(Session.title.ilike(pattern, escape="\\"), Session.input.ilike(pattern, escape="\\")))
    return clauses


async def list_sessions(db: AsyncSession, principal: Principal, q: ListQuery) -> tuple[Sequence[Session], int]:
    where = _where(db, principal, q)
    total = int((await db.execute(select(func.count()).select_from(Session).where(*where))).scalar_one())
    stmt = (
        select(Session)
        .where(*where)
        .order_by(Session.created_at.desc(), Session.id.desc())
        .offset((q.page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    )
    return list((await db.execute(stmt)).scalars()), total
