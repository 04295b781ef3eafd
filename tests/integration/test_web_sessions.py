"""Server-side web sessions on a real database: a token names a session until it is ended, expires, or its key is
revoked; only the token's hash is stored; expired sessions are purged at the next sign-in."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import new_database_url
from tests.support.tenants import make_tenant
from tracehound.auth import service as auth
from tracehound.auth import web_sessions
from tracehound.db.database import Database
from tracehound.db.migrate import migrate
from tracehound.models import WebSession


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_a_web_session_lives_until_it_ends_expires_or_its_key_is_revoked(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = new_database_url(backend, tmp_path, request)
    migrate(url)
    tenant = await asyncio.to_thread(make_tenant, url, sim=None)
    database = Database(url)
    try:
        async with database.transaction() as db:
            token = await web_sessions.start(db, key_id=tenant.admin_key_id, lifetime_seconds=3600)
            expired = await web_sessions.start(db, key_id=tenant.admin_key_id, lifetime_seconds=0)
        async with database.reader() as db:
            who = await web_sessions.principal(db, token)
            assert who is not None and who.email == "admin@example.com" and who.is_admin
            assert await web_sessions.principal(db, expired) is None
            assert await web_sessions.principal(db, "not-a-token") is None
            stored = list((await db.execute(select(WebSession.id))).scalars())
            assert token not in stored and web_sessions.token_hash(token) in stored  # only the hash is kept
        async with database.transaction() as db:
            await web_sessions.start(db, key_id=tenant.admin_key_id, lifetime_seconds=3600)  # purges the expired
            assert (await db.execute(select(func.count()).select_from(WebSession))).scalar_one() == 2
            await web_sessions.end(db, token)
        async with database.reader() as db:
            assert await web_sessions.principal(db, token) is None
        async with database.transaction() as db:
            again = await web_sessions.start(db, key_id=tenant.admin_key_id, lifetime_seconds=3600)
            await auth.revoke_key(db, key_id=tenant.admin_key_id)
        async with database.reader() as db:
            assert await web_sessions.principal(db, again) is None
    finally:
        await database.dispose()
