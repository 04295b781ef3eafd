"""Organisation settings: the V1 API switch, the concurrency limit, and the connectors (data sources) — listed with
their secrets withheld, added from a JSON config validated per kind, checked, and removed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from tracehound.auth import service as auth
from tracehound.auth.principal import Principal
from tracehound.connectors.registry import SOURCE_KINDS
from tracehound.integrations.schemas import ConnectorCreate
from tracehound.kit.errors import InvalidRequest, NotFound
from tracehound.sessions import repository as session_repo
from tracehound.sources import service as connectors
from tracehound.web import deps
from tracehound.web.pages import WebRoute, page

router = APIRouter(route_class=WebRoute, include_in_schema=False)

WHAT = "Organisation settings"
EXAMPLES = {
    "prometheus": {"url": "http://prometheus:9090", "service_label": "service", "label_filters": {"env": "prod"}},
    "simulator": {"seed": 7, "fault": {"service": "payment", "type": "errors", "duration_minutes": 60}},
    "files": {"path": "/data/telemetry", "layout": "generic"},
}


async def _org_page(request: Request, principal: Principal, extra: Mapping[str, Any], status: int = 200) -> Response:
    async with deps.database(request).reader() as db:
        org = await auth.get_org(db, principal.org_name)
        sources = [connectors.source_dict(s) for s in await connectors.list_connectors(db, principal)]
        running = await session_repo.count_running(db, principal.org_id)
    ctx = {
        "org": org,
        "connectors": sources,
        "running": running,
        "kinds": sorted(SOURCE_KINDS, key=lambda k: (k != "prometheus", k)),  # production first
        "examples": {k: json.dumps(v) for k, v in EXAMPLES.items()},
        "new": {},
        **extra,
    }
    return page(request, "admin_org.html", ctx, status)


@router.get("/ui/admin/org")
async def org_page(request: Request) -> Response:
    principal = await deps.admin(request, WHAT)
    return await _org_page(request, principal, {})


@router.post("/ui/admin/org")
async def save_org(request: Request) -> Response:
    principal = await deps.admin(request, WHAT)
    data = await deps.form(request)
    api_enabled = deps.text(data, "api_enabled", 8) == "on"
    try:
        max_running = int(deps.text(data, "max_running", 12).strip())
    except ValueError:
        return await _org_page(request, principal, {"error": "Concurrent investigations: enter a whole number."}, 400)
    try:
        async with deps.database(request).transaction() as db:
            await auth.update_org(db, name=principal.org_name, api_enabled=api_enabled, max_running=max_running)
    except InvalidRequest as exc:
        return await _org_page(request, principal, {"error": exc.message}, 400)
    return RedirectResponse("/ui/admin/org?done=org-saved", status_code=303)


def _connector_body(values: Mapping[str, str]) -> ConnectorCreate:
    try:
        config = json.loads(values["config"] or "{}")
    except ValueError as exc:
        raise InvalidRequest(f"Configuration: not valid JSON ({exc}).") from None
    if not isinstance(config, dict):
        raise InvalidRequest('Configuration: must be a JSON object, e.g. {"url": "http://prometheus:9090"}.')
    try:
        return ConnectorCreate(name=values["name"], kind=values["kind"], config=config)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidRequest(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


@router.post("/ui/admin/connectors")
async def add_connector(request: Request) -> Response:
    principal = await deps.admin(request, WHAT)
    data = await deps.form(request)
    values = {"name": deps.text(data, "name", 100).strip(), "kind": deps.text(data, "kind", 32)}
    values["config"] = deps.text(data, "config", 100_000).strip()
    try:
        body = _connector_body(values)
        async with deps.database(request).transaction() as db:
            await connectors.create_connector(db, principal, name=body.name, kind=body.kind, config=body.config)
    except InvalidRequest as exc:
        return await _org_page(request, principal, {"connector_error": exc.message, "new": values}, 400)
    return RedirectResponse("/ui/admin/org?done=connector-added#connectors", status_code=303)


@router.post("/ui/admin/connectors/{name}/check")
async def check_connector(request: Request, name: str) -> Response:
    principal = await deps.admin(request, WHAT)
    await deps.form(request)
    async with deps.database(request).reader() as db:
        source = await connectors.get_connector(db, principal, name)
    result = await connectors.check_source(source.kind, source.config)
    return await _org_page(request, principal, {"check": {"name": source.name, **result}})


@router.post("/ui/admin/connectors/{name}/delete")
async def remove_connector(request: Request, name: str) -> Response:
    principal = await deps.admin(request, WHAT)
    await deps.form(request)
    try:
        async with deps.database(request).transaction() as db:
            await connectors.delete_connector(db, principal, name)
    except NotFound as exc:
        return await _org_page(request, principal, {"connector_error": exc.message}, 404)
    return RedirectResponse("/ui/admin/org?done=connector-removed#connectors", status_code=303)
