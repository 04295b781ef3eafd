"""Connectors (additive): an organisation's data sources, managed by admins. Secret fields are never returned."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from tracehound.api.deps import CurrentPrincipal, StateDep
from tracehound.api.routes.common import json_response
from tracehound.integrations.schemas import ConnectorCreate, ConnectorUpdate
from tracehound.sources import service

router = APIRouter(tags=["Connectors"])


@router.get("/v1/connectors", operation_id="listConnectors")
async def list_connectors(principal: CurrentPrincipal, state: StateDep) -> Response:
    async with state.database.reader() as db:
        data = [service.source_dict(s) for s in await service.list_connectors(db, principal)]
    return json_response({"data": data, "total": len(data)})


@router.post("/v1/connectors", operation_id="createConnector", status_code=201)
async def create_connector(body: ConnectorCreate, principal: CurrentPrincipal, state: StateDep) -> Response:
    """Add a data source (``prometheus``, ``simulator`` or ``files``); the config is validated per kind."""
    async with state.database.transaction() as db:
        source = await service.create_connector(db, principal, name=body.name, kind=body.kind, config=body.config)
        return json_response(service.source_dict(source), 201)


@router.get("/v1/connectors/{name}", operation_id="getConnector")
async def get_connector(name: str, principal: CurrentPrincipal, state: StateDep) -> Response:
    async with state.database.reader() as db:
        return json_response(service.source_dict(await service.get_connector(db, principal, name)))


@router.put("/v1/connectors/{name}", operation_id="updateConnector")
async def update_connector(name: str, body: ConnectorUpdate, principal: CurrentPrincipal, state: StateDep) -> Response:
    """Replace the config; secret fields left out keep their stored values (``null`` clears one)."""
    async with state.database.transaction() as db:
        source = await service.update_connector(db, principal, name, kind=body.kind, config=body.config)
        return json_response(service.source_dict(source))


@router.delete("/v1/connectors/{name}", operation_id="deleteConnector", status_code=204)
async def delete_connector(name: str, principal: CurrentPrincipal, state: StateDep) -> Response:
    async with state.database.transaction() as db:
        await service.delete_connector(db, principal, name)
    return Response(status_code=204)


@router.post("/v1/connectors/{name}/check", operation_id="checkConnector")
async def check_connector(name: str, principal: CurrentPrincipal, state: StateDep) -> Response:
    """Ask the connector for its services: ``{"ok", "services", "error"}`` (200 even when it is unreachable)."""
    async with state.database.reader() as db:
        source = await service.get_connector(db, principal, name)
    return json_response({"name": name, **await service.check_source(source.kind, source.config)})
