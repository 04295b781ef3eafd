"""Shared fixtures: real databases (SQLite file, the machine's PostgreSQL) and real server processes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.servers import Proc, server
from tests.support.tenants import Tenant, make_tenant

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _pg_available() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return None
    except Exception as exc:
        return (
            f"PostgreSQL on 127.0.0.1:5432 is not reachable ({type(exc).__name__}); "
            "scripts/ensure-postgres.sh starts it"
        )


@pytest.fixture(scope="session")
def pg_factory() -> Iterator[object]:
    """Creates throw-away PostgreSQL databases and drops them at the end of the run."""
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    created: list[str] = []

    def make() -> str:
        name = f"th_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return f"postgresql://postgres@127.0.0.1:5432/{name}"

    yield make
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_database_url(backend: str, tmp: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'tracehound.db'}"
    make = request.getfixturevalue("pg_factory")
    return make()  # type: ignore[operator, no-any-return]


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def shared_db_url(backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> str:
    return new_database_url(backend, tmp_path_factory.mktemp(f"shared-{backend}"), request)


@pytest.fixture(scope="session")
def api(shared_db_url: str, backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    """One embedded server (API + worker) per database backend, shared by the contract tests."""
    proc = server(shared_db_url, tmp_path_factory.mktemp(f"api-{backend}")).start()
    yield proc
    proc.stop()


@pytest.fixture
def tenant(shared_db_url: str, api: Proc) -> Tenant:
    """A fresh organisation (admin + member keys, simulator source) on the shared server."""
    return make_tenant(shared_db_url)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in the main thread for the rest of
    the session, which would break every later test that calls ``asyncio.run``."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
