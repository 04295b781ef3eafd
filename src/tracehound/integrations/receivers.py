"""Alert integrations: an organisation's Alertmanager and PagerDuty receivers (admins manage them).

An Alertmanager integration authenticates with a token ``thw_...`` shown once at creation; only its SHA-256 is
stored. A PagerDuty integration stores the webhook subscription's signing secret (the HMAC needs it) and never
returns it. Sessions an integration opens are attributed to the admin who created it (or, if that user is gone,
to the organisation's oldest admin).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.auth.principal import Principal
from tracehound.auth.service import require_admin
from tracehound.integrations import repository as repo
from tracehound.integrations.schemas import IntegrationCreate
from tracehound.kit.clock import isoformat_z, utcnow
from tracehound.kit.errors import Forbidden, InvalidRequest, NotFound, Unauthorized
from tracehound.kit.ids import new_id, parse_uuid
from tracehound.models import AlertIntegration

TOKEN_PREFIX = "thw_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def receive_path(integration: AlertIntegration) -> str:
    if integration.kind == "pagerduty":
        return f"/v1/alerts/pagerduty/{integration.id}"
    return "/v1/alerts/alertmanager"


def integration_dict(integration: AlertIntegration, *, token: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": integration.id,
        "name": integration.name,
        "kind": integration.kind,
        "receive_path": receive_path(integration),
        "thinking_mode": integration.settings.get("thinking_mode"),
        "tags": list(integration.settings.get("tags") or []),
        "secret_set": integration.secret is not None,
        "created_at": isoformat_z(integration.created_at),
    }
    if token is not None:
        out["token"] = token  # shown once
    return out


async def add_integration(
    db: AsyncSession, *, org_id: str, user_id: str | None, data: IntegrationCreate
) -> tuple[AlertIntegration, str | None]:
    """(integration, token): Alertmanager integrations get a new token, returned only here."""
    if await repo.integration_by_name(db, org_id, data.name) is not None:
        raise InvalidRequest(f"name: an integration named '{data.name}' already exists.")
    token: str | None = None
    if data.kind == "pagerduty":
        if data.secret is None:
            raise InvalidRequest("secret: required for a PagerDuty integration (the webhook's signing secret).")
    elif data.secret is not None:
        raise InvalidRequest("secret: only PagerDuty integrations take a secret; Alertmanager gets a token.")
    else:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    integration = AlertIntegration(
        id=new_id(),
        org_id=org_id,
        user_id=user_id,
        kind=data.kind,
        name=data.name,
        token_hash=None if token is None else token_hash(token),
        secret=data.secret,
        settings={"thinking_mode": data.thinking_mode, "tags": list(dict.fromkeys(data.tags))},
        created_at=utcnow(),
    )
    db.add(integration)
    await db.flush()
    return integration, token


async def create_integration(
    db: AsyncSession, principal: Principal, data: IntegrationCreate
) -> tuple[AlertIntegration, str | None]:
    require_admin(principal, "Creating integrations")
    return await add_integration(db, org_id=principal.org_id, user_id=principal.user_id, data=data)


async def list_integrations(db: AsyncSession, principal: Principal) -> Sequence[AlertIntegration]:
    require_admin(principal, "Listing integrations")
    return await repo.integrations(db, principal.org_id)


async def find_integration(db: AsyncSession, org_id: str, ref: str) -> AlertIntegration:
    """By id or by name, within the organisation."""
    canonical = parse_uuid(ref)
    integration = None if canonical is None else await db.get(AlertIntegration, canonical)
    if integration is None or integration.org_id != org_id:
        integration = await repo.integration_by_name(db, org_id, ref)
    if integration is None:
        raise NotFound(f"No integration '{ref[:80]}' in your organization.")
    return integration


async def delete_integration(db: AsyncSession, principal: Principal, ref: str) -> None:
    require_admin(principal, "Deleting integrations")
    await db.delete(await find_integration(db, principal.org_id, ref))
    await db.flush()


async def acting_principal(db: AsyncSession, integration: AlertIntegration) -> Principal:
    """Who an alert session is attributed to; refuses when the organisation cannot take sessions."""
    org = await repo.org(db, integration.org_id)
    if org is None:
        raise Unauthorized("Unknown webhook integration.")
    if not org.api_enabled:
        raise Forbidden(f"The V1 API is not enabled for organization '{org.name}'.")
    user = await repo.acting_user(db, org.id, integration.user_id)
    if user is None:
        raise Forbidden(f"Organization '{org.name}' has no admin user to attribute alert sessions to.")
    return Principal(
        key_id=f"integration:{integration.id}",
        user_id=user.id,
        email=user.email,
        role=user.role,
        org_id=org.id,
        org_name=org.name,
        api_enabled=org.api_enabled,
        max_running=org.max_running,
    )
