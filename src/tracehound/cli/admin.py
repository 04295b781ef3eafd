"""Operator commands: organisations, users, API keys (data sources: sources_cmd.py)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.auth import service as auth
from tracehound.cli.common import console, err_console, run_db
from tracehound.kit.clock import isoformat_z

org_app = typer.Typer(help="Manage organizations.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users and their roles.", no_args_is_help=True)
key_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


@org_app.command("create")
def org_create(
    name: str,
    api_disabled: Annotated[bool, typer.Option("--api-disabled", help="Create with the V1 API disabled.")] = False,
    max_running: Annotated[int, typer.Option(help="Concurrent running sessions allowed.")] = 5,
) -> None:
    """Create an organization (the V1 API is enabled unless --api-disabled)."""

    async def go(db: AsyncSession) -> str:
        org = await auth.create_org(db, name=name, api_enabled=not api_disabled, max_running=max_running)
        return org.id

    org_id = run_db(go)
    console.print(f"created organization {name} ({org_id}), API {'disabled' if api_disabled else 'enabled'}")


@org_app.command("update")
def org_update(
    name: str,
    api_enabled: Annotated[
        bool | None, typer.Option("--api-enabled/--api-disabled", help="Enable or disable the V1 API.")
    ] = None,
    max_running: Annotated[int | None, typer.Option(help="Concurrent running sessions allowed.")] = None,
) -> None:
    """Enable/disable the V1 API or change the concurrency limit of an organization."""
    if api_enabled is None and max_running is None:
        err_console.print("nothing to change: give --api-enabled, --api-disabled or --max-running")
        raise typer.Exit(2)

    async def go(db: AsyncSession) -> tuple[bool, int]:
        org = await auth.update_org(db, name=name, api_enabled=api_enabled, max_running=max_running)
        return org.api_enabled, org.max_running

    enabled, limit = run_db(go)
    console.print(f"organization {name}: API {'enabled' if enabled else 'disabled'}, max running {limit}")


@org_app.command("list")
def org_list() -> None:
    """List organizations."""
    from tracehound.auth.repository import all_orgs

    async def go(db: AsyncSession) -> list[tuple[str, str, bool, int]]:
        return [(o.name, o.id, o.api_enabled, o.max_running) for o in await all_orgs(db)]

    table = Table("name", "id", "api", "max running")
    for name, oid, enabled, limit in run_db(go):
        table.add_row(name, oid, "enabled" if enabled else "disabled", str(limit))
    console.print(table)


@user_app.command("add")
def user_add(
    org: Annotated[str, typer.Option("--org", help="Organization name.")],
    email: Annotated[str, typer.Option("--email", help="The user's email.")],
    role: Annotated[str, typer.Option("--role", help="member or admin.")] = "member",
) -> None:
    """Add a user to an organization (or change an existing user's role)."""

    async def go(db: AsyncSession) -> str:
        return (await auth.add_user(db, org_name=org, email=email, role=role)).id

    console.print(f"user {email} ({role}) in {org}: {run_db(go)}")


@key_app.command("create")
def key_create(
    org: Annotated[str, typer.Option("--org", help="Organization name.")],
    email: Annotated[str, typer.Option("--email", help="The user the key acts as.")],
    name: Annotated[str | None, typer.Option(help="A label for the key.")] = None,
) -> None:
    """Create an API key. The key is printed once, as the last line of stdout; only its hash is stored."""

    async def go(db: AsyncSession) -> tuple[str, str]:
        created = await auth.create_key(db, org_name=org, email=email, name=name)
        return created.key.id, created.secret

    key_id, secret = run_db(go)
    err_console.print(f"key id {key_id} for {email} in {org}; store the key now, it is not shown again:")
    print(secret)


@key_app.command("revoke")
def key_revoke(key_id: str) -> None:
    """Revoke an API key by its id (see `tracehound key list`)."""

    async def go(db: AsyncSession) -> None:
        await auth.revoke_key(db, key_id=key_id)

    run_db(go)
    console.print(f"revoked key {key_id}")


@key_app.command("list")
def key_list(org: Annotated[str, typer.Option("--org", help="Organization name.")]) -> None:
    """List an organization's API keys (ids and prefixes, never the keys)."""

    async def go(db: AsyncSession) -> list[tuple[str, str, str, str, str]]:
        return [
            (
                k.id,
                k.key_prefix + "…",
                u.email,
                isoformat_z(k.created_at) or "",
                isoformat_z(k.revoked_at) or "",
            )
            for k, u in await auth.list_keys(db, org_name=org)
        ]

    table = Table("id", "prefix", "user", "created", "revoked")
    for row in run_db(go):
        table.add_row(*row)
    console.print(table)
