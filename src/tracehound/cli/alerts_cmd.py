"""``tracehound integration ...`` (Alertmanager / PagerDuty receivers) and ``tracehound webhook ...`` (completion
webhooks), straight in the database. Tokens and secrets are printed once, as the last line of stdout."""

from __future__ import annotations

import os
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.auth import service as auth
from tracehound.cli.common import console, err_console, run_db
from tracehound.integrations import receivers, webhooks
from tracehound.integrations.repository import acting_user, integrations, subscriptions
from tracehound.integrations.schemas import IntegrationCreate, WebhookCreate, field_message
from tracehound.kit.errors import InvalidRequest

integration_app = typer.Typer(help="Receive alerts: Alertmanager and PagerDuty integrations.", no_args_is_help=True)
webhook_app = typer.Typer(help="Completion webhooks: URLs told when a session ends.", no_args_is_help=True)

Org = Annotated[str, typer.Option("--org", help="Organization name.")]


M = TypeVar("M", IntegrationCreate, WebhookCreate)


def _validated(model: type[M], data: dict[str, object]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err_console.print(f"error: {field_message(exc)}")
        raise typer.Exit(2) from exc


@integration_app.command("add")
def integration_add(
    org: Org,
    name: Annotated[str, typer.Option("--name", help="A name, unique in the organization.")],
    kind: Annotated[str, typer.Option("--kind", help="alertmanager or pagerduty.")],
    secret_env: Annotated[
        str | None,
        typer.Option("--secret-env", help="PagerDuty: the environment variable holding the webhook signing secret."),
    ] = None,
    tags: Annotated[
        list[str] | None, typer.Option("--tag", help="A tag for the sessions it opens (repeatable).")
    ] = None,
) -> None:
    """Add an alert receiver. Alertmanager: prints the webhook token once (last line of stdout)."""
    secret = os.environ.get(secret_env) if secret_env else None
    if secret_env and secret is None:
        err_console.print(f"error: the environment variable {secret_env} is not set")
        raise typer.Exit(2)
    data = _validated(IntegrationCreate, {"name": name, "kind": kind, "secret": secret, "tags": tags or []})

    async def go(db: AsyncSession) -> tuple[str, str, str | None]:
        org_row = await auth.get_org(db, org)
        user = await acting_user(db, org_row.id, None)
        if user is None:
            raise InvalidRequest(f"Organization '{org}' has no admin user to attribute alert sessions to.")
        integration, token = await receivers.add_integration(db, org_id=org_row.id, user_id=user.id, data=data)
        return integration.id, receivers.receive_path(integration), token

    integration_id, path, token = run_db(go)
    err_console.print(f"integration {name} ({kind}) {integration_id} in {org}; senders post to {path}")
    if token is not None:
        err_console.print("store the token now, it is not shown again:")
        print(token)


@integration_app.command("list")
def integration_list(org: Org) -> None:
    """List an organization's alert integrations (never their tokens or secrets)."""

    async def go(db: AsyncSession) -> list[tuple[str, str, str, str]]:
        org_row = await auth.get_org(db, org)
        return [(i.name, i.kind, i.id, receivers.receive_path(i)) for i in await integrations(db, org_row.id)]

    table = Table("name", "kind", "id", "receive path")
    for row in run_db(go):
        table.add_row(*row)
    console.print(table)


@integration_app.command("remove")
def integration_remove(org: Org, ref: Annotated[str, typer.Argument(help="The integration's name or id.")]) -> None:
    """Remove an alert integration: its token or secret stops working at once."""

    async def go(db: AsyncSession) -> None:
        org_row = await auth.get_org(db, org)
        await db.delete(await receivers.find_integration(db, org_row.id, ref))

    run_db(go)
    console.print(f"removed integration {ref} from {org}")


@webhook_app.command("add")
def webhook_add(
    org: Org,
    url: Annotated[str, typer.Option("--url", help="http(s) URL that receives the events.")],
    events: Annotated[
        list[str] | None, typer.Option("--event", help="session.idle and/or session.failed (default: both).")
    ] = None,
    description: Annotated[str | None, typer.Option(help="A note for operators.")] = None,
) -> None:
    """Register a completion webhook. Prints its signing secret once (last line of stdout)."""
    body: dict[str, object] = {"url": url, "description": description}
    if events:
        body["events"] = events
    data = _validated(WebhookCreate, body)

    async def go(db: AsyncSession) -> tuple[str, str]:
        org_row = await auth.get_org(db, org)
        sub, secret = await webhooks.add_subscription(db, org_id=org_row.id, data=data)
        return sub.id, secret

    sub_id, secret = run_db(go)
    err_console.print(f"webhook {sub_id} for {url} in {org}; store the signing secret now, it is not shown again:")
    print(secret)


@webhook_app.command("list")
def webhook_list(org: Org) -> None:
    """List an organization's completion webhooks (never their secrets)."""

    async def go(db: AsyncSession) -> list[tuple[str, str, str]]:
        org_row = await auth.get_org(db, org)
        return [(s.id, s.url, ", ".join(s.events)) for s in await subscriptions(db, org_row.id)]

    table = Table("id", "url", "events")
    for row in run_db(go):
        table.add_row(*row)
    console.print(table)


@webhook_app.command("remove")
def webhook_remove(org: Org, webhook_id: Annotated[str, typer.Argument(help="The webhook's id.")]) -> None:
    """Remove a completion webhook (pending deliveries to it stop)."""

    async def go(db: AsyncSession) -> None:
        org_row = await auth.get_org(db, org)
        await db.delete(await webhooks.find_subscription(db, org_row.id, webhook_id))

    run_db(go)
    console.print(f"removed webhook {webhook_id} from {org}")
