"""``tracehound source ...``: an organisation's data sources (the API calls them connectors), straight in the
database. Secret fields (passwords, auth headers) are never printed; give them in a file (``--config-file``) to
keep them out of the shell history and the process list."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.auth import service as auth
from tracehound.cli.common import console, err_console, run_db
from tracehound.kit.errors import NotFound
from tracehound.sources import service as sources

source_app = typer.Typer(
    help="Connect telemetry sources (simulator, files, prometheus) to an organization.", no_args_is_help=True
)

Org = Annotated[str, typer.Option("--org", help="Organization name.")]
Name = Annotated[str, typer.Option("--name", help="The source's name.")]


def _read_config(config: str | None, config_file: Path | None) -> dict[str, Any]:
    if config is not None and config_file is not None:
        err_console.print("error: give --config or --config-file, not both")
        raise typer.Exit(2)
    what = "--config-file" if config_file is not None else "--config"
    try:
        if config_file is not None:
            text = sys.stdin.read() if str(config_file) == "-" else config_file.read_text()
        else:
            text = config or "{}"
        parsed = json.loads(text)
    except (OSError, json.JSONDecodeError) as exc:
        err_console.print(f"error: {what} is not readable JSON: {exc}")
        raise typer.Exit(2) from exc
    if not isinstance(parsed, dict):
        err_console.print(f"error: {what} must be a JSON object")
        raise typer.Exit(2)
    return parsed


@source_app.command("add")
def source_add(
    org: Org,
    name: Name,
    kind: Annotated[str, typer.Option("--kind", help="simulator, files or prometheus.")],
    config: Annotated[str | None, typer.Option("--config", help="The configuration as JSON.")] = None,
    config_file: Annotated[
        Path | None, typer.Option("--config-file", help="Read the configuration (JSON) from a file, '-' for stdin.")
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Replace a source of the same name (secret fields left out are kept).")
    ] = False,
) -> None:
    """Connect a telemetry source to an organization (the config is validated for its kind)."""
    parsed = _read_config(config, config_file)

    async def go(db: AsyncSession) -> str:
        org_row = await auth.get_org(db, org)
        existing = await sources.get_source(db, org_id=org_row.id, name=name)
        merged = parsed
        if replace and existing is not None and existing.kind == kind:
            merged = sources.merge_secrets(kind, existing.config, parsed)
        src = await sources.add_source(db, org_id=org_row.id, name=name, kind=kind, config=merged, replace=replace)
        return src.id

    console.print(f"data source {name} ({kind}) connected to {org}: {run_db(go)}")


@source_app.command("list")
def source_list(org: Org) -> None:
    """List an organization's data sources (secret fields are shown as set, never their values)."""

    async def go(db: AsyncSession) -> list[tuple[str, str, str, str]]:
        org_row = await auth.get_org(db, org)
        rows = []
        for s in await sources.list_sources(db, org_id=org_row.id):
            shown = sources.source_dict(s)
            rows.append((s.name, s.kind, json.dumps(shown["config"]), ", ".join(shown["secrets_set"])))
        return rows

    table = Table("name", "kind", "config", "secrets set")
    for row in run_db(go):
        table.add_row(*row)
    console.print(table)


async def _get(db: AsyncSession, org: str, name: str) -> dict[str, Any]:
    org_row = await auth.get_org(db, org)
    source = await sources.get_source(db, org_id=org_row.id, name=name)
    if source is None:
        raise NotFound(f"No data source named '{name}' in {org}.")
    return {"shown": sources.source_dict(source), "kind": source.kind, "config": dict(source.config)}


@source_app.command("show")
def source_show(org: Org, name: Name) -> None:
    """Print one data source as JSON (secret fields left out; ``secrets_set`` names the ones that are set)."""

    async def go(db: AsyncSession) -> dict[str, Any]:
        return await _get(db, org, name)

    print(json.dumps(run_db(go)["shown"], indent=2))


@source_app.command("check")
def source_check(
    org: Org,
    name: Name,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 15.0,
) -> None:
    """Ask the source for its services (e.g. a Prometheus connection test). Exit code 1 when it fails."""

    async def go(db: AsyncSession) -> dict[str, Any]:
        return await _get(db, org, name)

    got = run_db(go)
    result = asyncio.run(sources.check_source(got["kind"], got["config"], limit_seconds=timeout))
    if not result["ok"]:
        err_console.print(f"[red]error:[/red] {name} failed: {result['error']}", highlight=False)
        raise typer.Exit(1)
    services = result["services"]
    console.print(f"{name}: ok in {result['elapsed_ms']} ms, {len(services)} services: {', '.join(services)}")


@source_app.command("remove")
def source_remove(org: Org, name: Name) -> None:
    """Disconnect a data source."""

    async def go(db: AsyncSession) -> None:
        org_row = await auth.get_org(db, org)
        await sources.remove_source(db, org_id=org_row.id, name=name)

    run_db(go)
    console.print(f"removed data source {name} from {org}")
