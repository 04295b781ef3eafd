"""The rules of integrations.

* Connectors: an organisation's data sources, managed by admins through the API; secrets are never returned.
* Alert receivers: Alertmanager (webhook v4, per-integration token) and PagerDuty (webhook v3, HMAC-SHA256
  signature). A firing alert group / triggered incident opens one session, whatever the number of notifications:
  the session's idempotency key is derived from the group (and its earliest ``startsAt``) or the incident id, and
  admission goes through :func:`tracehound.sessions.service.create` (organisation lock, limit, durable enqueue).
* Completion webhooks: when a turn ends ``idle`` or ``failed``, every subscription of the organisation receives a
  signed JSON event. The worker plans the deliveries and posts them with retries (a DBOS workflow).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import orjson
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.auth.principal import Principal
from tracehound.auth.service import require_admin
from tracehound.connectors.registry import build_sources
from tracehound.integrations import repository as repo
from tracehound.integrations.schemas import (
    AmNotification,
    ConnectorCreate,
    ConnectorUpdate,
    IntegrationCreate,
    PdIncident,
    PdWebhook,
    WebhookCreate,
    field_message,
    parse_body,
)
from tracehound.kit.clock import isoformat_z, utcnow
from tracehound.kit.errors import Forbidden, InvalidRequest, NotFound, Unauthorized
from tracehound.kit.ids import new_id, parse_uuid
from tracehound.models import AlertIntegration, DataSource, Session, WebhookDelivery, WebhookSubscription
from tracehound.sessions import repository as session_repo
from tracehound.sessions import service as sessions
from tracehound.sessions.schemas import TITLE_MAX, SessionCreate, parse_iso8601
from tracehound.sessions.wire import session_dict
from tracehound.sources import service as sources

# --- connectors -------------------------------------------------------------------------------------------------

SECRET_MARKERS = ("password", "secret", "token", "auth_header_value", "api_key", "credentials")


def _is_secret(key: str) -> bool:
    k = key.lower()
    return any(m in k for m in SECRET_MARKERS)


def redact(config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(config without its secret fields, names of the secret fields that are set)."""
    clean: dict[str, Any] = {}
    present: list[str] = []
    for key, value in config.items():
        if _is_secret(key):
            if value is not None:
                present.append(key)
            continue
        clean[key] = value
    return clean, sorted(present)


def connector_dict(source: DataSource) -> dict[str, Any]:
    config, present = redact(source.config)
    return {
        "id": source.id,
        "name": source.name,
        "kind": source.kind,
        "config": config,
        "secrets_set": present,
        "created_at": isoformat_z(source.created_at),
    }


async def _connector(db: AsyncSession, principal: Principal, name: str) -> DataSource:
    for source in await sources.list_sources(db, org_id=principal.org_id):
        if source.name == name:
            return source
    raise NotFound(f"No connector named '{name[:100]}' in your organization.")


async def list_connectors(db: AsyncSession, principal: Principal) -> Sequence[DataSource]:
    require_admin(principal, "Listing connectors")
    return await sources.list_sources(db, org_id=principal.org_id)


async def get_connector(db: AsyncSession, principal: Principal, name: str) -> DataSource:
    require_admin(principal, "Reading connectors")
    return await _connector(db, principal, name)


async def create_connector(db: AsyncSession, principal: Principal, data: ConnectorCreate) -> DataSource:
    require_admin(principal, "Creating connectors")
    return await sources.add_source(db, org_id=principal.org_id, name=data.name, kind=data.kind, config=data.config)


async def update_connector(db: AsyncSession, principal: Principal, name: str, data: ConnectorUpdate) -> DataSource:
    """Replace a connector's config. Secret fields left out keep their stored values (they are never shown)."""
    require_admin(principal, "Updating connectors")
    existing = await _connector(db, principal, name)
    kind = data.kind or existing.kind
    config = dict(data.config)
    if kind == existing.kind:
        for key, value in existing.config.items():
            if _is_secret(key) and key not in config:
                config[key] = value
    return await sources.add_source(db, org_id=principal.org_id, name=name, kind=kind, config=config, replace=True)


async def delete_connector(db: AsyncSession, principal: Principal, name: str) -> None:
    require_admin(principal, "Deleting connectors")
    try:
        await sources.remove_source(db, org_id=principal.org_id, name=name)
    except NotFound:
        raise NotFound(f"No connector named '{name[:100]}' in your organization.") from None


async def check_connector(source: DataSource, limit_seconds: float = 15.0) -> dict[str, Any]:
    """Ask a connector for its services: ``{"ok": bool, "services": [...], "error": str | None}``."""
    built = build_sources([(source.kind, source.config)], anchor=utcnow())
    if built.metrics is None:
        return {"ok": True, "services": [], "error": None, "note": "this connector has no metrics source"}
    started = time.perf_counter()
    try:
        names = list(await asyncio.wait_for(built.metrics.services(), limit_seconds))
    except Exception as exc:  # reported to the admin, not raised
        return {"ok": False, "services": [], "error": f"{type(exc).__name__}: {exc}"[:1000]}
    return {"ok": True, "services": names, "error": None, "elapsed_ms": int((time.perf_counter() - started) * 1000)}


# --- alert integrations -----------------------------------------------------------------------------------------

TOKEN_PREFIX = "thw_"


def _hash(token: str) -> str:
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


async def create_integration(
    db: AsyncSession, principal: Principal, data: IntegrationCreate
) -> tuple[AlertIntegration, str | None]:
    """Returns (integration, token). Alertmanager integrations get a token, shown only here."""
    require_admin(principal, "Creating integrations")
    if await repo.integration_by_name(db, principal.org_id, data.name) is not None:
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
        org_id=principal.org_id,
        user_id=principal.user_id,
        kind=data.kind,
        name=data.name,
        token_hash=None if token is None else _hash(token),
        secret=data.secret,
        settings={"thinking_mode": data.thinking_mode, "tags": list(dict.fromkeys(data.tags))},
        created_at=utcnow(),
    )
    db.add(integration)
    await db.flush()
    return integration, token


async def list_integrations(db: AsyncSession, principal: Principal) -> Sequence[AlertIntegration]:
    require_admin(principal, "Listing integrations")
    return await repo.integrations(db, principal.org_id)


async def delete_integration(db: AsyncSession, principal: Principal, integration_id: str) -> None:
    require_admin(principal, "Deleting integrations")
    canonical = parse_uuid(integration_id)
    integration = None if canonical is None else await db.get(AlertIntegration, canonical)
    if integration is None or integration.org_id != principal.org_id:
        raise NotFound(f"No integration '{integration_id[:80]}' in your organization.")
    await db.delete(integration)
    await db.flush()


@dataclass(frozen=True, slots=True)
class Received:
    status_code: int
    body: dict[str, Any]


async def _principal(db: AsyncSession, integration: AlertIntegration) -> Principal:
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


async def _open(
    db: AsyncSession,
    integration: AlertIntegration,
    *,
    key: str,
    text: str,
    title: str,
    incident_time: datetime,
    tags: Sequence[str],
    limits: sessions.Limits,
    enqueue: sessions.Enqueue,
) -> Received:
    principal = await _principal(db, integration)
    all_tags = list(dict.fromkeys([*tags, *(integration.settings.get("tags") or [])]))[:20]
    data = SessionCreate(
        input=text[: limits.max_input_chars],
        title=title[:TITLE_MAX],
        time=isoformat_z(incident_time),
        idempotency_key=key,
        tags=all_tags,
        thinking_mode=integration.settings.get("thinking_mode"),
    )
    session, created = await sessions.create(db, principal, data=data, limits=limits, enqueue=enqueue, origin="alert")
    body = {"session_id": session.id, "created": created, "status": session.status}
    return Received(201 if created else 200, body)


RESOLVED_TAG = "alert-resolved"


async def _resolve(db: AsyncSession, integration: AlertIntegration, *, key: str, data: dict[str, Any]) -> Received:
    """Record a resolution on the session the alert opened: an ``alert.resolved`` event and a tag (once)."""
    session = await session_repo.by_idempotency_key(db, org_id=integration.org_id, key=key)
    if session is None:
        return Received(200, {"session_id": None, "recorded": False})
    if RESOLVED_TAG in (session.tags or []):
        return Received(200, {"session_id": session.id, "recorded": False})
    session.tags = [*(session.tags or []), RESOLVED_TAG][-20:]
    await db.flush()
    await _append_event(db, session.id, "alert.resolved", data)
    return Received(200, {"session_id": session.id, "recorded": True})


async def _append_event(db: AsyncSession, session_id: str, type_: str, data: dict[str, Any]) -> None:
    """The worker may append progress events to the same session at the same moment: the sequence number then
    collides (unique constraint); retry in a savepoint."""
    for attempt in range(8):
        try:
            async with db.begin_nested():
                await session_repo.append_event(db, session_id=session_id, type_=type_, ts=utcnow(), data=data)
            return
        except IntegrityError:
            if attempt == 7:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))


# Alertmanager ---------------------------------------------------------------------------------------------------


def _token(authorization: str | None, token_param: str | None) -> str:
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("Malformed Authorization header: expected 'Bearer thw_...'.")
        return value.strip()
    if token_param:
        return token_param
    raise Unauthorized("Missing webhook token: send 'Authorization: Bearer thw_...' or '?token=thw_...'.")


def alert_group_key(integration: AlertIntegration, n: AmNotification) -> str:
    """One key per alert group and episode: the group key plus the earliest ``startsAt`` of its alerts. Re-sent and
    repeated notifications share it; a group that fires again after resolving starts a new episode."""
    first = min(parse_iso8601(a.startsAt) for a in n.alerts)
    digest = hashlib.sha256(f"{n.groupKey}\n{isoformat_z(first)}".encode()).hexdigest()[:40]
    return f"alertmanager:{integration.id[:8]}:{digest}"


def alertmanager_text(n: AmNotification) -> tuple[str, str]:
    """(input, title) of the session an Alertmanager notification opens."""
    firing = [a for a in n.alerts if a.status == "firing"] or n.alerts
    lead = firing[0]
    name = lead.labels.get("alertname") or n.commonLabels.get("alertname") or "Alert"
    ann = {**n.commonAnnotations, **lead.annotations}
    summary = ann.get("summary") or ann.get("message") or ann.get("description") or ""
    title = f"{name}: {summary}" if summary else name
    first = min(parse_iso8601(a.startsAt) for a in n.alerts)
    lines = [f"Alertmanager alert firing: {title}", ""]
    if ann.get("description") and ann.get("description") != summary:
        lines += [ann["description"], ""]
    lines.append(f"Started at {isoformat_z(first)}.")
    if n.groupLabels:
        lines.append("Alert group: " + ", ".join(f"{k}={v}" for k, v in sorted(n.groupLabels.items())))
    lines += ["", f"Alerts ({len(firing)} firing of {len(n.alerts)}):"]
    for a in firing[:20]:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()))
        s = a.annotations.get("summary")
        lines.append(f"- {labels}" + (f" — {s}" if s else ""))
    if lead.generatorURL:
        lines += ["", f"Source: {lead.generatorURL}"]
    return "\n".join(lines), title


async def receive_alertmanager(
    db: AsyncSession,
    *,
    authorization: str | None,
    token_param: str | None,
    raw: bytes,
    limits: sessions.Limits,
    enqueue: sessions.Enqueue,
) -> Received:
    token = _token(authorization, token_param)
    integration = await repo.integration_by_token_hash(db, _hash(token))
    if integration is None or integration.kind != "alertmanager":
        raise Unauthorized("Unknown webhook token.")
    n = parse_body(AmNotification, raw)
    key = alert_group_key(integration, n)
    if n.status == "resolved":
        ends = [a.endsAt for a in n.alerts if a.endsAt]
        data = {
            "source": "alertmanager",
            "group_key": n.groupKey,
            "alerts": len(n.alerts),
            "ended_at": max(ends, default=None),
        }
        return await _resolve(db, integration, key=key, data=data)
    text, title = alertmanager_text(n)
    first = min(parse_iso8601(a.startsAt) for a in n.alerts)
    return await _open(
        db,
        integration,
        key=key,
        text=text,
        title=title,
        incident_time=first,
        tags=["alertmanager"],
        limits=limits,
        enqueue=enqueue,
    )


# PagerDuty ------------------------------------------------------------------------------------------------------


def pagerduty_signature(secret: str, raw: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def verify_pagerduty(secret: str, raw: bytes, header: str | None) -> bool:
    """``X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]`` (several while a secret is being rotated)."""
    if not header:
        return False
    expected = pagerduty_signature(secret, raw)
    return any(hmac.compare_digest(expected, part.strip()) for part in header.split(","))


async def receive_pagerduty(
    db: AsyncSession,
    *,
    integration_id: str,
    signature: str | None,
    raw: bytes,
    limits: sessions.Limits,
    enqueue: sessions.Enqueue,
) -> Received:
    canonical = parse_uuid(integration_id)
    integration = None if canonical is None else await db.get(AlertIntegration, canonical)
    if integration is None or integration.kind != "pagerduty" or integration.secret is None:
        raise Unauthorized("Unknown PagerDuty integration.")
    if not signature:
        raise Unauthorized("Missing X-PagerDuty-Signature header.")
    if not verify_pagerduty(integration.secret, raw, signature):
        raise Unauthorized("Invalid X-PagerDuty-Signature: no v1 signature matches this integration's secret.")
    event = parse_body(PdWebhook, raw).event
    if event.resource_type != "incident" or event.event_type not in ("incident.triggered", "incident.resolved"):
        return Received(200, {"ignored": event.event_type})
    try:
        incident = PdIncident.model_validate(event.data or {})
    except ValidationError as exc:
        raise InvalidRequest("event.data." + field_message(exc)) from None
    key = f"pagerduty:{integration.id[:8]}:{incident.id}"
    if event.event_type == "incident.resolved":
        data = {"source": "pagerduty", "incident_id": incident.id, "resolved_at": event.occurred_at}
        return await _resolve(db, integration, key=key, data=data)
    service = incident.service.summary if incident.service and incident.service.summary else None
    when = parse_iso8601(incident.created_at or event.occurred_at)
    lines = [f"PagerDuty incident triggered: {incident.title}", ""]
    if service:
        lines.append(f"PagerDuty service: {service}.")
    if incident.urgency:
        lines.append(f"Urgency: {incident.urgency}.")
    if incident.priority and incident.priority.summary:
        lines.append(f"Priority: {incident.priority.summary}.")
    lines.append(f"Triggered at {isoformat_z(when)}.")
    if incident.html_url:
        lines += ["", f"Incident: {incident.html_url}"]
    title = f"#{incident.number} {incident.title}" if incident.number else incident.title
    return await _open(
        db,
        integration,
        key=key,
        text="\n".join(lines),
        title=title,
        incident_time=when,
        tags=["pagerduty"],
        limits=limits,
        enqueue=enqueue,
    )


# --- completion webhooks ----------------------------------------------------------------------------------------

WEBHOOK_SECRET_PREFIX = "whsec_"


def subscription_dict(sub: WebhookSubscription, *, secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": sub.id,
        "url": sub.url,
        "events": list(sub.events),
        "description": sub.description,
        "created_at": isoformat_z(sub.created_at),
    }
    if secret is not None:
        out["secret"] = secret  # shown once
    return out


def delivery_dict(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "session_id": d.session_id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "created_at": isoformat_z(d.created_at),
        "finished_at": isoformat_z(d.finished_at),
    }


async def create_subscription(
    db: AsyncSession, principal: Principal, data: WebhookCreate
) -> tuple[WebhookSubscription, str]:
    require_admin(principal, "Creating webhooks")
    if len(await repo.subscriptions(db, principal.org_id)) >= 20:
        raise InvalidRequest("url: an organization can register at most 20 webhooks.")
    secret = WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)
    sub = WebhookSubscription(
        id=new_id(),
        org_id=principal.org_id,
        url=data.url,
        secret=secret,
        events=list(dict.fromkeys(data.events)),
        description=data.description,
        created_at=utcnow(),
    )
    db.add(sub)
    await db.flush()
    return sub, secret


async def list_subscriptions(db: AsyncSession, principal: Principal) -> Sequence[WebhookSubscription]:
    require_admin(principal, "Listing webhooks")
    return await repo.subscriptions(db, principal.org_id)


async def _subscription(db: AsyncSession, principal: Principal, sub_id: str) -> WebhookSubscription:
    canonical = parse_uuid(sub_id)
    sub = None if canonical is None else await db.get(WebhookSubscription, canonical)
    if sub is None or sub.org_id != principal.org_id:
        raise NotFound(f"No webhook '{sub_id[:80]}' in your organization.")
    return sub


async def delete_subscription(db: AsyncSession, principal: Principal, sub_id: str) -> None:
    require_admin(principal, "Deleting webhooks")
    await db.delete(await _subscription(db, principal, sub_id))
    await db.flush()


async def list_deliveries(db: AsyncSession, principal: Principal, sub_id: str) -> Sequence[WebhookDelivery]:
    require_admin(principal, "Listing webhook deliveries")
    return await repo.deliveries(db, (await _subscription(db, principal, sub_id)).id)


# The worker's side: plan (one step), then post each delivery with retries (one step each).


def _report_summary(report: dict[str, Any] | None) -> dict[str, Any] | None:
    if not report:
        return None
    keys = ("summary", "root_cause", "fault_type", "confidence", "confidence_reason", "sources_failed")
    return {k: report.get(k) for k in keys if k in report}


async def plan_deliveries(db: AsyncSession, *, session_id: str, turn_id: str) -> list[dict[str, Any]]:
    """Write a pending delivery for every subscription that wants this turn's outcome and return what to post.
    Deterministic ids: planning the same turn twice plans nothing new."""
    session = await db.get(Session, session_id)
    if session is None or session.status not in ("idle", "failed"):
        return []
    event_type = f"session.{session.status}"
    subs = [s for s in await repo.subscriptions(db, session.org_id) if event_type in s.events]
    if not subs:
        return []
    event_id = f"evt_{uuid.uuid5(uuid.NAMESPACE_URL, 'tracehound:' + turn_id).hex}"
    now = utcnow()
    payload = {
        "id": event_id,
        "type": event_type,
        "created_at": isoformat_z(now),
        "data": {
            "session": session_dict(session),
            "turn_id": turn_id,
            "report": _report_summary(session.report),
        },
    }
    body = orjson.dumps(payload).decode()
    out = []
    for sub in subs:
        delivery_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"tracehound:{turn_id}:{sub.id}"))
        if await db.get(WebhookDelivery, delivery_id) is None:
            db.add(
                WebhookDelivery(
                    id=delivery_id,
                    subscription_id=sub.id,
                    session_id=session.id,
                    event_id=event_id,
                    event_type=event_type,
                    status="pending",
                    attempts=0,
                    last_status_code=None,
                    last_error=None,
                    created_at=now,
                    finished_at=None,
                )
            )
        out.append({"delivery_id": delivery_id, "subscription_id": sub.id, "event_type": event_type, "body": body})
    await db.flush()
    return out


def sign(secret: str, timestamp: int, body: str) -> str:
    """``X-Tracehound-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class DeliveryFailed(RuntimeError):
    """A delivery attempt did not get a 2xx answer (retried)."""


async def delivery_target(db: AsyncSession, subscription_id: str) -> WebhookSubscription | None:
    return await db.get(WebhookSubscription, subscription_id)


async def post_delivery(
    url: str, secret: str, *, delivery_id: str, event_type: str, body: str, limit_seconds: float = 10.0
) -> tuple[int | None, str | None]:
    """One attempt: (status code or None, error or None)."""
    ts = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "tracehound-webhooks",
        "X-Tracehound-Event": event_type,
        "X-Tracehound-Delivery": delivery_id,
        "X-Tracehound-Timestamp": str(ts),
        "X-Tracehound-Signature": sign(secret, ts, body),
    }
    try:
        async with httpx.AsyncClient(timeout=limit_seconds, follow_redirects=False) as client:
            response = await client.post(url, content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"


async def record_attempt(
    db: AsyncSession, delivery_id: str, *, status_code: int | None, error: str | None, final: bool
) -> None:
    d = await db.get(WebhookDelivery, delivery_id)
    if d is None:
        return
    d.attempts += 1
    d.last_status_code = status_code
    d.last_error = error
    if error is None:
        d.status, d.finished_at = "delivered", utcnow()
    elif final:
        d.status, d.finished_at = "failed", utcnow()
    await db.flush()


async def mark_failed(db: AsyncSession, delivery_id: str, error: str) -> None:
    d = await db.get(WebhookDelivery, delivery_id)
    if d is not None and d.status == "pending":
        d.status, d.finished_at, d.last_error = "failed", utcnow(), error[:500]
        await db.flush()
