"""Helpers shared by CLI commands: settings, running a database unit of work, printing errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console

from tracehound.kit.errors import TracehoundError

if TYPE_CHECKING:  # imported where used: the client-only commands never load the database layer
    from sqlalchemy.ext.asyncio import AsyncSession

    from tracehound.config import Settings

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    from tracehound.config import Settings

    return Settings()


def run_db(fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Migrate, then run ``fn`` in one transaction; domain errors become a clear message and exit code 1."""
    from tracehound.db.database import Database
    from tracehound.db.migrate import migrate

    url = settings().resolved_database_url()

    async def _go() -> T:
        database = Database(url)
        try:
            async with database.transaction() as db:
                return await fn(db)
        finally:
            await database.dispose()

    try:
        migrate(url)
        return asyncio.run(_go())
    except TracehoundError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
