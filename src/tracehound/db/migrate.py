"""Apply the schema: tracehound's tables (Alembic) and DBOS's system tables, in the same database.

Safe to call from several processes at once: PostgreSQL serialises on an advisory lock, SQLite on a file lock.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from tracehound.db.urls import DatabaseUrls, resolve

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_LOCK_ID = 0x7472_6163  # "trac"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@contextmanager
def _sqlite_file_lock(urls: DatabaseUrls) -> Iterator[None]:
    db_path = Path(make_url(urls.sync_url).database or "")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with open(str(db_path) + ".migrate-lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _upgrade_app_schema(urls: DatabaseUrls) -> None:
    engine = create_engine(urls.sync_url)
    try:
        with engine.connect() as conn:
            if not urls.is_sqlite:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_ID})
                conn.commit()
            try:
                command.upgrade(alembic_config(conn), "head")
                conn.commit()
            finally:
                if not urls.is_sqlite:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_ID})
                    conn.commit()
    finally:
        engine.dispose()


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the current schema (idempotent)."""
    from dbos import DBOS

    urls = resolve(url)
    if urls.is_sqlite:
        with _sqlite_file_lock(urls):
            _upgrade_app_schema(urls)
            DBOS.migrate(urls.dbos_url)
    else:
        _upgrade_app_schema(urls)
        DBOS.migrate(urls.dbos_url)
