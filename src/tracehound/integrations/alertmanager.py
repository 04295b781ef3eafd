"""The Alertmanager receiver (webhook payload version 4), authenticated by an integration token.

A notification is about one alert group (``groupKey``). Its alerts are identified by ``fingerprint`` (stable per
label set) and ``startsAt`` (a new value each time the alert starts firing again): ``fingerprint@startsAt`` is
one *alert instance*, which :mod:`tracehound.integrations.episodes` uses to tell a repeated notification from a
group firing again. The session's ``time`` is the earliest ``startsAt`` of the firing alerts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.integrations import repository as repo
from tracehound.integrations.episodes import Notification, Opening, Received, fire, resolve
from tracehound.integrations.receivers import token_hash
from tracehound.integrations.schemas import AmAlert, AmNotification, parse_body
from tracehound.kit.clock import isoformat_z
from tracehound.kit.errors import Unauthorized
from tracehound.models import AlertIntegration
from tracehound.sessions import service as sessions
from tracehound.sessions.schemas import parse_iso8601

MAX_LISTED_ALERTS = 20


def bearer_token(authorization: str | None, token_param: str | None) -> str:
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("Malformed Authorization header: expected 'Bearer thw_...'.")
        return value.strip()
    if token_param:
        return token_param
    raise Unauthorized("Missing webhook token: send 'Authorization: Bearer thw_...' or '?token=thw_...'.")


def instance(alert: AmAlert) -> str:
    """``fingerprint@startsAt`` (the fingerprint is computed from the labels when the sender omits it)."""
    fp = alert.fingerprint or hashlib.sha256(repr(sorted(alert.labels.items())).encode()).hexdigest()[:16]
    return f"{fp}@{isoformat_z(parse_iso8601(alert.startsAt))}"


def _firing(n: AmNotification) -> list[AmAlert]:
    return [a for a in n.alerts if a.status == "firing"]


def notification(integration: AlertIntegration, n: AmNotification) -> Notification:
    group = hashlib.sha256(f"alertmanager\n{integration.id}\n{n.groupKey}".encode()).hexdigest()
    lead = (_firing(n) or n.alerts)[0]
    return Notification(
        source="alertmanager",
        group_hash=group,
        seen=tuple(instance(a) for a in n.alerts),
        firing=tuple(instance(a) for a in _firing(n)),
        identity={"group_key": n.groupKey[:1000], "url": lead.generatorURL or n.externalURL or None},
    )


def first_start(n: AmNotification) -> datetime:
    return min(parse_iso8601(a.startsAt) for a in (_firing(n) or n.alerts))


def opening(integration: AlertIntegration, n: AmNotification) -> Opening:
    """The session a firing notification opens: input from the labels and annotations, time = ``startsAt``."""
    firing = _firing(n) or n.alerts
    lead = firing[0]
    name = lead.labels.get("alertname") or n.commonLabels.get("alertname") or "Alert"
    ann = {**n.commonAnnotations, **lead.annotations}
    summary = ann.get("summary") or ann.get("message") or ann.get("description") or ""
    title = f"{name}: {summary}" if summary else name
    start = first_start(n)
    lines = [f"Alertmanager alert firing: {title}", ""]
    if ann.get("description") and ann.get("description") != summary:
        lines += [ann["description"], ""]
    lines.append(f"Started at {isoformat_z(start)}.")
    if n.groupLabels:
        lines.append("Alert group: " + ", ".join(f"{k}={v}" for k, v in sorted(n.groupLabels.items())))
    lines += ["", f"Alerts ({len(firing)} firing of {len(n.alerts) + n.truncatedAlerts}):"]
    for a in firing[:MAX_LISTED_ALERTS]:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()))
        s = a.annotations.get("summary")
        lines.append(f"- {labels}" + (f" — {s}" if s else ""))
    if len(firing) > MAX_LISTED_ALERTS:
        lines.append(f"- … and {len(firing) - MAX_LISTED_ALERTS} more")
    if lead.generatorURL:
        lines += ["", f"Source: {lead.generatorURL}"]
    digest = hashlib.sha256(f"{n.groupKey}\n{isoformat_z(start)}".encode()).hexdigest()[:40]
    return Opening(
        idempotency_key=f"alertmanager:{integration.id[:8]}:{digest}",
        text="\n".join(lines),
        title=title,
        incident_time=start,
        tags=["alertmanager"],
    )


def resolved_at(n: AmNotification) -> datetime | None:
    ends: list[datetime] = []
    for a in n.alerts:
        try:
            ends.append(parse_iso8601(a.endsAt or ""))
        except ValueError:  # Alertmanager sends 0001-01-01T00:00:00Z for "not ended"
            continue
    return max(ends, default=None)


@dataclass(frozen=True, slots=True)
class Checked:
    """An authenticated, parsed notification (checked in a read transaction, before any write lock is taken)."""

    integration_id: str
    notification: AmNotification


async def check(db: AsyncSession, *, authorization: str | None, token_param: str | None, raw: bytes) -> Checked:
    """401 for a missing/unknown token, 400 naming the field for a bad payload; reads only."""
    token = bearer_token(authorization, token_param)
    integration = await repo.integration_by_token_hash(db, token_hash(token))
    if integration is None or integration.kind != "alertmanager":
        raise Unauthorized("Unknown webhook token.")
    return Checked(integration.id, parse_body(AmNotification, raw))


async def apply(db: AsyncSession, checked: Checked, *, limits: sessions.Limits, enqueue: sessions.Enqueue) -> Received:
    """Open, join or resolve the notification's episode (in the write transaction)."""
    integration = await db.get(AlertIntegration, checked.integration_id)
    if integration is None:  # deleted in the meantime
        raise Unauthorized("Unknown webhook token.")
    n = checked.notification
    if n.status == "resolved":
        return await resolve(db, integration, notification(integration, n), resolved_at=resolved_at(n))
    return await fire(
        db, integration, notification(integration, n), opening(integration, n), limits=limits, enqueue=enqueue
    )
