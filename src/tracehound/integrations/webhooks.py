"""Completion webhooks: an organisation registers URLs; when a turn ends ``idle`` or ``failed`` each subscription
receives one signed JSON event.

* Planning (:func:`plan_deliveries`) runs in the transaction that ends the turn: it writes one ``pending``
  delivery per subscription and enqueues its durable delivery workflow in that same transaction, so a turn ends
  if and only if its deliveries are queued (the transactional outbox), and the investigation never waits for a
  receiver. Delivery ids are derived from (turn, subscription): planning twice plans nothing new.
* Each attempt signs the body with the subscription's secret: ``X-Tracehound-Signature: t=<unix>,v1=<hex>``
  where ``hex = HMAC-SHA256(secret, "<t>.<body>")``, plus ``X-Tracehound-Timestamp``, ``X-Tracehound-Event`` and
  ``X-Tracehound-Delivery`` (stable across retries: receivers de-duplicate on it; delivery is at least once).
* Attempts are recorded on the delivery (``attempts``, ``last_status_code``, ``last_error``); a 2xx ends it
  ``delivered``, the last failed attempt ends it ``failed``. The waits between attempts are durable sleeps of the
  workflow (see :mod:`tracehound.worker.workflows`), so a restart resumes the schedule, it does not reset it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.auth.principal import Principal
from tracehound.auth.service import require_admin
from tracehound.integrations import repository as repo
from tracehound.integrations.schemas import WebhookCreate
from tracehound.kit.clock import isoformat_z, utcnow
from tracehound.kit.errors import InvalidRequest, NotFound
from tracehound.kit.ids import new_id, parse_uuid
from tracehound.models import Session, WebhookDelivery, WebhookSubscription
from tracehound.sessions.wire import session_dict

SECRET_PREFIX = "whsec_"
MAX_SUBSCRIPTIONS = 20
REPORT_KEYS = ("summary", "root_cause", "fault_type", "confidence", "confidence_reason", "source_failures")

# Enqueues the durable delivery workflow of one planned delivery, in the caller's transaction.
DeliveryEnqueue = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]


def retry_delays(*, attempts: int, base_seconds: float, max_seconds: float) -> list[float]:
    """The waits between ``attempts`` attempts: ``base * 3**k`` capped at ``max`` (10 s, 30 s, 90 s ... 1 h)."""
    return [min(base_seconds * 3**k, max_seconds) for k in range(max(0, attempts - 1))]


# --- subscriptions (admins) -------------------------------------------------------------------------------------


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


async def add_subscription(db: AsyncSession, *, org_id: str, data: WebhookCreate) -> tuple[WebhookSubscription, str]:
    """(subscription, signing secret): the secret is returned only here."""
    if len(await repo.subscriptions(db, org_id)) >= MAX_SUBSCRIPTIONS:
        raise InvalidRequest(f"url: an organization can register at most {MAX_SUBSCRIPTIONS} webhooks.")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    sub = WebhookSubscription(
        id=new_id(),
        org_id=org_id,
        url=data.url,
        secret=secret,
        events=list(dict.fromkeys(data.events)),
        description=data.description,
        created_at=utcnow(),
    )
    db.add(sub)
    await db.flush()
    return sub, secret


async def create_subscription(
    db: AsyncSession, principal: Principal, data: WebhookCreate
) -> tuple[WebhookSubscription, str]:
    require_admin(principal, "Creating webhooks")
    return await add_subscription(db, org_id=principal.org_id, data=data)


async def list_subscriptions(db: AsyncSession, principal: Principal) -> Sequence[WebhookSubscription]:
    require_admin(principal, "Listing webhooks")
    return await repo.subscriptions(db, principal.org_id)


async def find_subscription(db: AsyncSession, org_id: str, sub_id: str) -> WebhookSubscription:
    canonical = parse_uuid(sub_id)
    sub = None if canonical is None else await db.get(WebhookSubscription, canonical)
    if sub is None or sub.org_id != org_id:
        raise NotFound(f"No webhook '{sub_id[:80]}' in your organization.")
    return sub


async def delete_subscription(db: AsyncSession, principal: Principal, sub_id: str) -> None:
    require_admin(principal, "Deleting webhooks")
    await db.delete(await find_subscription(db, principal.org_id, sub_id))
    await db.flush()


async def list_deliveries(db: AsyncSession, principal: Principal, sub_id: str) -> Sequence[WebhookDelivery]:
    require_admin(principal, "Listing webhook deliveries")
    return await repo.deliveries(db, (await find_subscription(db, principal.org_id, sub_id)).id)


# --- planning (in the transaction that ends the turn) -----------------------------------------------------------


def _report_summary(report: dict[str, Any] | None) -> dict[str, Any] | None:
    if not report:
        return None
    return {k: report.get(k) for k in REPORT_KEYS if k in report}


def event_body(session: Session, *, event_id: str, event_type: str, turn_id: str) -> str:
    payload = {
        "id": event_id,
        "type": event_type,
        "created_at": isoformat_z(utcnow()),
        "data": {"session": session_dict(session), "turn_id": turn_id, "report": _report_summary(session.report)},
    }
    return orjson.dumps(payload).decode()


async def plan_deliveries(db: AsyncSession, *, session_id: str, turn_id: str, enqueue: DeliveryEnqueue) -> list[str]:
    """Plan (and enqueue) the deliveries of a turn that just ended; returns the new delivery ids."""
    session = await db.get(Session, session_id)
    if session is None or session.status not in ("idle", "failed"):
        return []
    event_type = f"session.{session.status}"
    subs = [s for s in await repo.subscriptions(db, session.org_id) if event_type in s.events]
    if not subs:
        return []
    event_id = f"evt_{uuid.uuid5(uuid.NAMESPACE_URL, 'tracehound:' + turn_id).hex}"
    body = event_body(session, event_id=event_id, event_type=event_type, turn_id=turn_id)
    planned: list[str] = []
    for sub in subs:
        delivery_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"tracehound:{turn_id}:{sub.id}"))
        if await db.get(WebhookDelivery, delivery_id) is not None:
            continue
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
                created_at=utcnow(),
                finished_at=None,
            )
        )
        await db.flush()
        payload = {"delivery_id": delivery_id, "subscription_id": sub.id, "event_type": event_type, "body": body}
        await enqueue(db, payload)
        planned.append(delivery_id)
    return planned


# --- one attempt (the worker's side) ----------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: str) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


async def post(
    url: str, secret: str, *, delivery_id: str, event_type: str, body: str, limit_seconds: float = 10.0
) -> tuple[int | None, str | None]:
    """One attempt: (HTTP status or None, error or None). Redirects are not followed (they count as failures)."""
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


async def target(db: AsyncSession, subscription_id: str) -> tuple[str, str] | None:
    """(url, secret) of a subscription; None once it was deleted."""
    sub = await db.get(WebhookSubscription, subscription_id)
    return None if sub is None else (sub.url, sub.secret)


async def record_attempt(
    db: AsyncSession, delivery_id: str, *, status_code: int | None, error: str | None, final: bool
) -> None:
    d = await db.get(WebhookDelivery, delivery_id)
    if d is None or d.status != "pending":
        return
    d.attempts += 1
    d.last_status_code = status_code
    d.last_error = error
    if error is None:
        d.status, d.finished_at = "delivered", utcnow()
    elif final:
        d.status, d.finished_at = "failed", utcnow()
    await db.flush()
