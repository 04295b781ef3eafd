"""Alert receivers (Alertmanager, PagerDuty) and completion webhooks (additive).

The receiving endpoints are authenticated by their own token or signature, not by API keys; every error is in the
envelope and nothing is stored when the request is rejected."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response

from tracehound.api.deps import CurrentPrincipal, StateDep
from tracehound.api.routes.common import json_response
from tracehound.integrations import alertmanager, pagerduty, receivers, webhooks
from tracehound.integrations.episodes import Received
from tracehound.integrations.schemas import IntegrationCreate, WebhookCreate
from tracehound.kit.errors import TracehoundError

router = APIRouter(tags=["Integrations"])


def _receiver_doc(payload: str) -> dict[str, Any]:
    """OpenAPI of a receiving endpoint: no API key, a raw JSON body, every error in the envelope."""
    codes = {"400": "BadRequest", "401": "Unauthorized", "403": "Forbidden", "413": "PayloadTooLarge"}
    codes["429"] = "TooManyRequests"
    return {
        "security": [],
        "requestBody": {
            "required": True,
            "description": payload,
            "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
        },
        "responses": {
            "201": {"description": "A new session was opened: `{session_id, created: true, status}`."},
            **{code: {"$ref": f"#/components/responses/{name}"} for code, name in codes.items()},
        },
    }


def _outcome(received: Received) -> str:
    body = received.body
    if "ignored" in body:
        return "ignored"
    if "recorded" in body:
        return "resolved" if body["recorded"] else "existing"
    return "opened" if body.get("created") else "existing"


@contextmanager
def _counted(request: Request, source: str) -> Iterator[Callable[[Received], None]]:
    """Counts each notification in ``tracehound_alert_notifications_total`` (rejected ones too)."""
    counter = request.app.state.metrics.alert_notifications
    try:
        yield lambda received: counter.labels(source, _outcome(received)).inc()
    except TracehoundError:
        counter.labels(source, "rejected").inc()
        raise


@router.get("/v1/integrations", operation_id="listIntegrations")
async def list_integrations(principal: CurrentPrincipal, state: StateDep) -> Response:
    async with state.database.reader() as db:
        data = [receivers.integration_dict(i) for i in await receivers.list_integrations(db, principal)]
    return json_response({"data": data, "total": len(data)})


@router.post("/v1/integrations", operation_id="createIntegration", status_code=201)
async def create_integration(body: IntegrationCreate, principal: CurrentPrincipal, state: StateDep) -> Response:
    """An Alertmanager integration answers with its ``token`` (shown once); a PagerDuty one takes the ``secret``
    of the PagerDuty webhook subscription. ``receive_path`` is where the sender posts."""
    async with state.database.transaction() as db:
        integration, token = await receivers.create_integration(db, principal, body)
        return json_response(receivers.integration_dict(integration, token=token), 201)


@router.delete("/v1/integrations/{integration_id}", operation_id="deleteIntegration", status_code=204)
async def delete_integration(integration_id: str, principal: CurrentPrincipal, state: StateDep) -> Response:
    """By id or name. Its token (or secret) stops working at once; the sessions it opened stay."""
    async with state.database.transaction() as db:
        await receivers.delete_integration(db, principal, integration_id)
    return Response(status_code=204)


@router.post(
    "/v1/alerts/alertmanager",
    operation_id="receiveAlertmanager",
    openapi_extra=_receiver_doc("An Alertmanager webhook notification (payload version 4)."),
)
async def receive_alertmanager(
    request: Request,
    state: StateDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    token: Annotated[str | None, Query(description="The integration token, if it cannot go in a header.")] = None,
) -> Response:
    """Alertmanager webhook (payload v4), ``Authorization: Bearer thw_...``. Firing: 201 with the new session, or
    200 with the session already opened for this alert group. Resolved: recorded on that session."""
    raw = await request.body()
    with _counted(request, "alertmanager") as count:
        async with state.database.reader() as db:  # rejected requests never take the write lock
            checked = await alertmanager.check(db, authorization=authorization, token_param=token, raw=raw)
        async with state.database.transaction() as db:
            received = await alertmanager.apply(db, checked, limits=state.limits, enqueue=state.enqueue)
        count(received)
    return json_response(received.body, received.status_code)


@router.post(
    "/v1/alerts/pagerduty/{integration_id}",
    operation_id="receivePagerDuty",
    openapi_extra=_receiver_doc('A PagerDuty V3 webhook: {"event": {...}}.'),
)
async def receive_pagerduty(
    integration_id: str,
    request: Request,
    state: StateDep,
    x_pagerduty_signature: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """PagerDuty V3 webhook, verified with ``X-PagerDuty-Signature``. ``incident.triggered`` opens a session (once
    per incident), ``incident.resolved`` is recorded on it, other events are acknowledged and ignored."""
    raw = await request.body()
    with _counted(request, "pagerduty") as count:
        async with state.database.reader() as db:  # rejected requests never take the write lock
            checked = await pagerduty.check(
                db, integration_id=integration_id, signature_header=x_pagerduty_signature, raw=raw
            )
        async with state.database.transaction() as db:
            received = await pagerduty.apply(db, checked, limits=state.limits, enqueue=state.enqueue)
        count(received)
    return json_response(received.body, received.status_code)


@router.get("/v1/webhooks", operation_id="listWebhooks")
async def list_webhooks(principal: CurrentPrincipal, state: StateDep) -> Response:
    async with state.database.reader() as db:
        data = [webhooks.subscription_dict(s) for s in await webhooks.list_subscriptions(db, principal)]
    return json_response({"data": data, "total": len(data)})


@router.post("/v1/webhooks", operation_id="createWebhook", status_code=201)
async def create_webhook(body: WebhookCreate, principal: CurrentPrincipal, state: StateDep) -> Response:
    """Register a URL for ``session.idle`` / ``session.failed`` events. The signing ``secret`` is shown once."""
    async with state.database.transaction() as db:
        sub, secret = await webhooks.create_subscription(db, principal, body)
        return json_response(webhooks.subscription_dict(sub, secret=secret), 201)


@router.delete("/v1/webhooks/{webhook_id}", operation_id="deleteWebhook", status_code=204)
async def delete_webhook(webhook_id: str, principal: CurrentPrincipal, state: StateDep) -> Response:
    async with state.database.transaction() as db:
        await webhooks.delete_subscription(db, principal, webhook_id)
    return Response(status_code=204)


@router.get("/v1/webhooks/{webhook_id}/deliveries", operation_id="listWebhookDeliveries")
async def list_deliveries(webhook_id: str, principal: CurrentPrincipal, state: StateDep) -> Response:
    async with state.database.reader() as db:
        data = [webhooks.delivery_dict(d) for d in await webhooks.list_deliveries(db, principal, webhook_id)]
    return json_response({"data": data, "total": len(data)})
