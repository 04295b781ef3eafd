"""Agents (additive, Everruns-shaped): admins change them, members read them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from tracehound.agents import capabilities as caps
from tracehound.agents import service
from tracehound.agents.schemas import AgentCreate, AgentUpdate
from tracehound.api.deps import CurrentPrincipal, StateDep
from tracehound.api.routes.common import json_response
from tracehound.kit.validation import SQL_INT_MAX
from tracehound.sessions import service as sessions
from tracehound.sessions.wire import session_dict

router = APIRouter(tags=["Agents"])


@router.get("/v1/capabilities", operation_id="listCapabilities")
async def list_capabilities(_principal: CurrentPrincipal) -> Response:
    """The capabilities this server offers, each with the JSON Schema of its config."""
    data = [spec.public() for spec in caps.CATALOG.values()]
    return json_response({"data": data, "total": len(data), "offset": 0, "limit": len(data)})


@router.post("/v1/agents", operation_id="createAgent", status_code=201)
async def create_agent(body: AgentCreate, principal: CurrentPrincipal, state: StateDep) -> Response:
    async with state.database.transaction() as db:
        agent = await service.create(db, principal, body)
        return json_response(service.agent_dict(agent), 201)


@router.get("/v1/agents", operation_id="listAgents")
async def list_agents(
    principal: CurrentPrincipal,
    state: StateDep,
    offset: Annotated[int, Query(ge=0, le=SQL_INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    async with state.database.transaction() as db:  # may create the default agent
        rows, total = await service.list_agents(db, principal, offset=offset, limit=limit)
        data = [service.agent_dict(a) for a in rows]
    return json_response({"data": data, "total": total, "offset": offset, "limit": limit})


@router.get("/v1/agents/{agent_ref}", operation_id="getAgent")
async def get_agent(agent_ref: str, principal: CurrentPrincipal, state: StateDep) -> Response:
    async with state.database.reader() as db:
        return json_response(service.agent_dict(await service.find(db, principal, agent_ref)))


@router.patch("/v1/agents/{agent_ref}", operation_id="updateAgent")
async def update_agent(agent_ref: str, body: AgentUpdate, principal: CurrentPrincipal, state: StateDep) -> Response:
    async with state.database.transaction() as db:
        agent = await service.update_agent(db, principal, agent_ref, body)
        return json_response(service.agent_dict(agent))


@router.delete("/v1/agents/{agent_ref}", operation_id="archiveAgent", status_code=204)
async def archive_agent(agent_ref: str, principal: CurrentPrincipal, state: StateDep) -> Response:
    """Archives the agent (it can no longer start sessions); its sessions are kept."""
    async with state.database.transaction() as db:
        await service.archive(db, principal, agent_ref)
    return Response(status_code=204)


@router.get("/v1/agents/{agent_ref}/sessions", operation_id="listAgentSessions")
async def list_agent_sessions(
    agent_ref: str,
    principal: CurrentPrincipal,
    state: StateDep,
    offset: Annotated[int, Query(ge=0, le=SQL_INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """Everruns-shaped listing (admin): ``{data, total, offset, limit}``, newest first."""
    async with state.database.reader() as db:
        agent = await service.find(db, principal, agent_ref)
        rows, total = await sessions.list_offset(
            db, principal, filters=sessions.ListFilters(agent_id=agent.id), offset=offset, limit=limit
        )
        data = [session_dict(s) for s in rows]
    return json_response({"data": data, "total": total, "offset": offset, "limit": limit})
