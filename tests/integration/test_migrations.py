"""The migrations build exactly the tables the models describe (no drift), on SQLite and PostgreSQL, and the
latest one can be rolled back and re-applied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from tests.conftest import new_database_url
from tracehound.db.migrate import alembic_config, migrate
from tracehound.db.urls import resolve
from tracehound.models import Base


def _ours(diff: Any) -> bool:
    """Leave out DBOS's own system tables (same database, not in our metadata). Column modifications come as
    lists of tuples: always ours."""
    if isinstance(diff, list):
        return True
    table = getattr(diff[1], "table", None) if diff[0].endswith("_index") else diff[1]
    name = getattr(table, "name", "")
    return name in Base.metadata.tables or not diff[0].startswith("remove_")


def test_models_and_migrations_agree(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = new_database_url(backend, tmp_path, request)
    migrate(url)
    engine = create_engine(resolve(url).sync_url)
    try:
        with engine.connect() as conn:
            diff = [d for d in compare_metadata(MigrationContext.configure(conn), Base.metadata) if _ours(d)]
        assert diff == []
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0004")
        assert "alert_episodes" not in inspect(engine).get_table_names()
        assert "alert" not in {c["name"] for c in inspect(engine).get_columns("sessions")}
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        assert "alert_episodes" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
