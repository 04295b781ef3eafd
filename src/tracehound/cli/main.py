"""``tracehound``: run the server and workers, manage organisations and keys, and run the demo."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer

from tracehound.cli import sessions_cmd
from tracehound.cli.common import console, settings

app = typer.Typer(
    help="tracehound: an open-source AI SRE with a Traversal-compatible Sessions API.\n\n"
    "Configuration comes from TRACEHOUND_* environment variables; the database from TRACEHOUND_DATABASE_URL "
    "(default: an SQLite file in ./data).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _add_operator_commands(target: typer.Typer) -> None:
    # imported here: these modules load the database layer, which the client commands never need
    from tracehound.cli.admin import key_app, org_app, user_app
    from tracehound.cli.alerts_cmd import integration_app, webhook_app
    from tracehound.cli.bench import bench_app
    from tracehound.cli.sources_cmd import source_app

    target.add_typer(org_app, name="org")
    target.add_typer(user_app, name="user")
    target.add_typer(key_app, name="key")
    target.add_typer(source_app, name="source")
    target.add_typer(integration_app, name="integration")
    target.add_typer(webhook_app, name="webhook")
    target.add_typer(bench_app, name="bench")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8000).")] = None,
    api_only: Annotated[
        bool,
        typer.Option("--api-only", help="Serve the API only; investigations run in `tracehound worker`."),
    ] = False,
    executor_id: Annotated[str | None, typer.Option(help="Worker identity (default: local on SQLite).")] = None,
) -> None:
    """Run the API server. Applies migrations on start. Unless --api-only, it also runs investigations."""
    from tracehound.api.observability import configure_logging
    from tracehound.server import build_app
    from tracehound.server import serve as run_server

    cfg = settings()
    configure_logging(cfg.log_level, cfg.log_format)
    application = build_app(cfg, run_worker=not api_only, executor_id=executor_id)
    run_server(application, host=host or cfg.host, port=port or cfg.port)


@app.command()
def worker(
    executor_id: Annotated[str | None, typer.Option(help="Worker identity (default: hostname-pid).")] = None,
) -> None:
    """Run a worker that executes investigations (scale-out on PostgreSQL: run several)."""
    from tracehound.api.observability import configure_logging
    from tracehound.server import run_worker_forever

    cfg = settings()
    configure_logging(cfg.log_level, cfg.log_format)
    asyncio.run(run_worker_forever(cfg, executor_id=executor_id))


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (also done by serve and worker on start)."""
    from tracehound.db.migrate import migrate as do_migrate

    url = settings().resolved_database_url()
    do_migrate(url)
    console.print("database is up to date")


@app.command()
def demo(
    exit_after: Annotated[bool, typer.Option("--exit", help="Stop the server after printing the report.")] = False,
    port: Annotated[int | None, typer.Option(help="Port for the demo server (default 8000).")] = None,
) -> None:
    """Start a server with a demo organisation and simulated telemetry, investigate a demo incident, print the
    report. Prints the admin key and URL. Safe to re-run."""
    from tracehound.cli.demo import run_demo

    run_demo(exit_after=exit_after, port=port)


CLIENT_COMMANDS = frozenset({"investigate", "sessions"})


def main() -> None:
    """The entry point. The client commands (``investigate``, ``sessions``) talk HTTP only: they get an app
    without the operator commands, whose modules load the database layer (about 2 s at every start)."""
    first = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    if first in CLIENT_COMMANDS:
        client_app = typer.Typer(help=app.info.help, no_args_is_help=True, pretty_exceptions_enable=False)
        sessions_cmd.register(client_app)
        client_app()
        return
    _add_operator_commands(app)
    sessions_cmd.register(app)
    app()
