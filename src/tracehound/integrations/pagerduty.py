"""The PagerDuty receiver (V3 webhooks), verified with ``X-PagerDuty-Signature`` (HMAC-SHA256 of the raw body
with the webhook subscription's secret, ``v1=<hex>``; several while a secret rotates).

``incident.triggered`` opens one session per incident id in the organisation (whichever integration receives
it); ``incident.resolved`` is recorded on it; every other event is acknowledged (200) and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.integrations.episodes import Notification, Opening, Received, fire, resolve
from tracehound.integrations.schemas import PdEvent, PdIncident, PdWebhook, field_message, parse_body
from tracehound.kit.clock import isoformat_z
from tracehound.kit.errors import InvalidRequest, Unauthorized
from tracehound.kit.ids import parse_uuid
from tracehound.models import AlertIntegration
from tracehound.sessions import service as sessions
from tracehound.sessions.schemas import parse_iso8601

HANDLED = ("incident.triggered", "incident.resolved")


def signature(secret: str, raw: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def verify(secret: str, raw: bytes, header: str | None) -> bool:
    """``X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]``: any match is enough."""
    if not header:
        return False
    expected = signature(secret, raw)
    return any(hmac.compare_digest(expected, part.strip()) for part in header.split(","))


def _notification(incident: PdIncident) -> Notification:
    return Notification(
        source="pagerduty",
        group_hash=hashlib.sha256(f"pagerduty\n{incident.id}".encode()).hexdigest(),
        seen=(incident.id,),
        firing=(incident.id,),
        identity={"incident_id": incident.id, "url": incident.html_url},
    )


def opening(incident: PdIncident, event: PdEvent) -> Opening:
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
    return Opening(
        idempotency_key=f"pagerduty:{incident.id}",
        text="\n".join(lines),
        title=f"#{incident.number} {incident.title}" if incident.number else incident.title,
        incident_time=when,
        tags=["pagerduty"],
    )


async def _integration(db: AsyncSession, integration_id: str) -> AlertIntegration:
    canonical = parse_uuid(integration_id)
    integration = None if canonical is None else await db.get(AlertIntegration, canonical)
    if integration is None or integration.kind != "pagerduty" or integration.secret is None:
        raise Unauthorized("Unknown PagerDuty integration.")
    return integration


@dataclass(frozen=True, slots=True)
class Checked:
    """A verified, parsed webhook (checked in a read transaction); ``incident`` is None for ignored events."""

    integration_id: str
    event: PdEvent
    incident: PdIncident | None


async def check(db: AsyncSession, *, integration_id: str, signature_header: str | None, raw: bytes) -> Checked:
    """401 for an unknown integration or a missing/wrong signature, 400 naming the field; reads only."""
    integration = await _integration(db, integration_id)
    if not signature_header:
        raise Unauthorized("Missing X-PagerDuty-Signature header.")
    if not verify(integration.secret or "", raw, signature_header):
        raise Unauthorized("Invalid X-PagerDuty-Signature: no v1 signature matches this integration's secret.")
    event = parse_body(PdWebhook, raw).event
    if event.resource_type != "incident" or event.event_type not in HANDLED:
        return Checked(integration.id, event, None)
    try:
        incident = PdIncident.model_validate(event.data or {})
    except ValidationError as exc:
        raise InvalidRequest("event.data." + field_message(exc)) from None
    return Checked(integration.id, event, incident)


async def apply(db: AsyncSession, checked: Checked, *, limits: sessions.Limits, enqueue: sessions.Enqueue) -> Received:
    """Open the incident's session or record its resolution (in the write transaction)."""
    event, incident = checked.event, checked.incident
    if incident is None:
        return Received(200, {"ignored": event.event_type})
    integration = await _integration(db, checked.integration_id)
    n = _notification(incident)
    if event.event_type == "incident.resolved":
        return await resolve(db, integration, n, resolved_at=parse_iso8601(event.occurred_at))
    return await fire(db, integration, n, opening(incident, event), limits=limits, enqueue=enqueue)
