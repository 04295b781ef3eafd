"""One user-facing database URL, turned into the driver URLs each component needs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import make_url


@dataclass(frozen=True, slots=True)
class DatabaseUrls:
    dialect: str  # "sqlite" | "postgresql"
    async_url: str  # SQLAlchemy asyncio (aiosqlite / psycopg)
    sync_url: str  # SQLAlchemy sync (sqlite3 / psycopg): migrations, DBOS client transactions
    dbos_url: str  # DBOS system database (the same database)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"


def resolve(url: str) -> DatabaseUrls:
    """Accepts ``sqlite:///path``, ``postgresql://...``, ``postgres://...`` or ``postgresql+psycopg://...``."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("An SQLite database must be a file (sqlite:///path/to/file.db), not in memory.")
        plain = parsed.set(drivername="sqlite")
        return DatabaseUrls(
            dialect="sqlite",
            async_url=plain.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False),
            sync_url=plain.render_as_string(hide_password=False),
            dbos_url=plain.render_as_string(hide_password=False),
        )
    if backend == "postgresql":
        psy = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return DatabaseUrls(
            dialect="postgresql",
            async_url=psy,
            sync_url=psy,
            dbos_url=parsed.set(drivername="postgresql").render_as_string(hide_password=False),
        )
    raise ValueError(f"Unsupported database URL scheme {parsed.drivername!r}: use sqlite:/// or postgresql://")
