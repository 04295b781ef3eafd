"""Organisations, users and keys created straight in the test database through the real services."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.auth import service as auth
from tracehound.db.database import Database
from tracehound.models import Message, Session
from tracehound.sources import service as sources

T = TypeVar("T")

DEMO_SIM = {
    "seed": 7,
    "fault": {"service": "payment", "type": "errors", "start": None, "duration_minutes": 60},
}


def run(database_url: str, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def go() -> T:
        database = Database(database_url)
        try:
            async with database.transaction() as db:
                return await fn(db)
        finally:
            await database.dispose()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(go())
    # A loop already runs in this thread (Playwright's sync API keeps one for the whole session): use another.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


@dataclass(frozen=True)
class Tenant:
    org: str
    org_id: str
    admin_key: str
    member_key: str
    admin_key_id: str

    def headers(self, *, admin: bool = True) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key if admin else self.member_key}"}


def make_tenant(
    database_url: str,
    *,
    sim: dict[str, Any] | None = DEMO_SIM,
    max_running: int = 5,
    api_enabled: bool = True,
) -> Tenant:
    name = f"org-{uuid.uuid4().hex[:10]}"

    async def go(db: AsyncSession) -> Tenant:
        org = await auth.create_org(db, name=name, api_enabled=api_enabled, max_running=max_running)
        await auth.add_user(db, org_name=name, email="admin@example.com", role="admin")
        await auth.add_user(db, org_name=name, email="member@example.com", role="member")
        admin = await auth.create_key(db, org_name=name, email="admin@example.com")
        member = await auth.create_key(db, org_name=name, email="member@example.com")
        if sim is not None:
            await sources.add_source(db, org_id=org.id, name="sim", kind="simulator", config=sim)
        return Tenant(name, org.id, admin.secret, member.secret, admin.key.id)

    return run(database_url, go)


def stored_counts(database_url: str, org_id: str) -> tuple[int, int]:
    """(sessions, messages) stored for an organisation."""

    async def go(db: AsyncSession) -> tuple[int, int]:
        n_sessions = (await db.execute(select(func.count()).where(Session.org_id == org_id))).scalar_one()
        n_messages = (
            await db.execute(
                select(func.count())
                .select_from(Message)
                .join(Session, Session.id == Message.session_id)
                .where(Session.org_id == org_id)
            )
        ).scalar_one()
        return int(n_sessions), int(n_messages)

    return run(database_url, go)
