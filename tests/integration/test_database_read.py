"""``Database.read``: the sync read unit of work of the hot paths, on real SQLite (inline on the event loop) and
real PostgreSQL (through the async driver), against a database built by the real migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import new_database_url
from tests.support.tenants import make_tenant
from tracehound.auth import repository as auth_repo
from tracehound.db.database import Database
from tracehound.db.migrate import migrate
from tracehound.kit.ids import hash_api_key
from tracehound.models import Organization


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    database_url = new_database_url(request.param, tmp_path, request)
    migrate(database_url)
    return database_url


def test_read_sees_what_a_transaction_committed_and_authenticates(url: str) -> None:
    tenant = make_tenant(url, sim=None)

    async def go() -> tuple[list[str], str | None]:
        database = Database(url)
        try:
            names = await database.read(lambda c: list(c.execute(select(Organization.name)).scalars()))
            row = await database.read(lambda c: auth_repo.principal_record(c, key_hash=hash_api_key(tenant.admin_key)))
            return names, None if row is None else row.org_id
        finally:
            await database.dispose()

    names, org_id = asyncio.run(go())
    assert names == [tenant.org]
    assert org_id == tenant.org_id


def test_a_failing_read_raises_and_returns_its_connection(url: str) -> None:
    async def go() -> int:
        database = Database(url)
        try:
            for _ in range(20):  # more than the pool holds: a leaked connection would exhaust it
                with pytest.raises(DBAPIError):
                    await database.read(lambda c: c.execute(text("SELECT * FROM no_such_table")).all())
            return await database.read(lambda c: int(c.execute(text("SELECT 1")).scalar_one()))
        finally:
            await database.dispose()

    assert asyncio.run(go()) == 1


def test_read_runs_in_one_transaction(url: str) -> None:
    def work(conn: Connection) -> bool:
        conn.execute(text("SELECT 1"))
        return conn.in_transaction()

    async def go() -> bool:
        database = Database(url)
        try:
            return await database.read(work)
        finally:
            await database.dispose()

    assert asyncio.run(go()) is True
