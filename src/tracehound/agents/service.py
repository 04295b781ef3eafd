"""Rules of agents: admins change them, members read them; archived agents start no sessions; every organisation
has a default agent (created on first use) for sessions that name none."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.agents import capabilities as caps
from tracehound.agents.schemas import AgentCreate, AgentUpdate
from tracehound.auth.principal import Principal
from tracehound.auth.service import require_admin
from tracehound.kit.clock import isoformat_z, utcnow
from tracehound.kit.errors import InvalidRequest, NotFound
from tracehound.kit.ids import new_agent_id
from tracehound.kit.usage import add_usage as sum_usage
from tracehound.models import Agent, DataSource

AGENT_ID = re.compile(r"^agent_[0-9a-f]{32}$")
DEFAULT_NAME = "default"


def agent_dict(a: Agent) -> dict[str, Any]:
    return {
        "id": a.id,
        "organization_id": a.org_id,
        "name": a.name,
        "description": a.description,
        "system_prompt": a.system_prompt,
        "capabilities": list(a.capabilities or []),
        "default_model_id": a.default_model_id,
        "tags": list(a.tags or []),
        "status": a.status,
        "is_default": a.is_default,
        "usage": a.usage or {},
        "created_at": isoformat_z(a.created_at),
        "updated_at": isoformat_z(a.updated_at),
    }


async def _check_sources_exist(db: AsyncSession, org_id: str, clean: list[dict[str, Any]], field: str) -> None:
    names = caps.effective(clean).source_names
    if not names:
        return
    stmt = select(DataSource.name).where(DataSource.org_id == org_id, DataSource.name.in_(names))
    known = set((await db.execute(stmt)).scalars())
    missing = sorted(names - known)
    if missing:
        raise InvalidRequest(f"{field}: data source '{missing[0]}' does not exist in this organization.")


async def validated_capabilities(
    db: AsyncSession, org_id: str, raw: Sequence[Any], *, field: str
) -> list[dict[str, Any]]:
    clean = caps.validate(raw, field=field)
    await _check_sources_exist(db, org_id, clean, field)
    return clean


async def _by_name(db: AsyncSession, org_id: str, name: str) -> Agent | None:
    return (await db.execute(select(Agent).where(Agent.org_id == org_id, Agent.name == name))).scalar_one_or_none()


async def find(db: AsyncSession, principal: Principal, ref: str) -> Agent:
    """By id (``agent_…``) or by name."""
    if AGENT_ID.match(ref):
        agent = await db.get(Agent, ref)
        agent = agent if agent is not None and agent.org_id == principal.org_id else None
    else:
        agent = await _by_name(db, principal.org_id, ref)
    if agent is None:
        raise NotFound(f"Agent '{ref[:80]}' not found in your organization.")
    return agent


async def ensure_default(db: AsyncSession, org_id: str) -> Agent:
    stmt = select(Agent).where(Agent.org_id == org_id, Agent.is_default.is_(True))
    agent = (await db.execute(stmt)).scalar_one_or_none()
    if agent is not None:
        return agent
    now = utcnow()
    agent = await _by_name(db, org_id, DEFAULT_NAME)
    if agent is None:
        agent = Agent(
            id=new_agent_id(),
            org_id=org_id,
            name=DEFAULT_NAME,
            capabilities=[],
            tags=[],
            usage={},
            description="Used by sessions that name no agent.",
            status="active",
            created_at=now,
            updated_at=now,
        )
        db.add(agent)
    agent.is_default = True
    await db.flush()
    return agent


async def for_session(db: AsyncSession, principal: Principal, agent_id: str | None) -> Agent:
    """The agent a new session runs with: the named one (400 if unknown or archived) or the default."""
    if agent_id is None:
        return await ensure_default(db, principal.org_id)
    if not AGENT_ID.match(agent_id):
        raise InvalidRequest("agent_id: must look like agent_<32 lowercase hex>.")
    agent = await db.get(Agent, agent_id)
    if agent is None or agent.org_id != principal.org_id:
        raise InvalidRequest(f"agent_id: agent '{agent_id}' does not exist in your organization.")
    if agent.status != "active":
        raise InvalidRequest(f"agent_id: agent '{agent.name}' is archived and cannot start sessions.")
    return agent


async def create(db: AsyncSession, principal: Principal, data: AgentCreate) -> Agent:
    require_admin(principal, "Creating agents")
    if await _by_name(db, principal.org_id, data.name) is not None:
        raise InvalidRequest(f"name: an agent named '{data.name}' already exists.")
    now = utcnow()
    agent = Agent(
        id=new_agent_id(),
        org_id=principal.org_id,
        name=data.name,
        description=data.description,
        system_prompt=data.system_prompt,
        capabilities=await validated_capabilities(db, principal.org_id, data.capabilities, field="capabilities"),
        default_model_id=data.default_model_id,
        tags=list(dict.fromkeys(data.tags)),
        status="active",
        is_default=False,
        usage={},
        created_at=now,
        updated_at=now,
    )
    db.add(agent)
    await db.flush()
    return agent


async def update_agent(db: AsyncSession, principal: Principal, ref: str, data: AgentUpdate) -> Agent:
    require_admin(principal, "Changing agents")
    agent = await find(db, principal, ref)
    changes = data.model_dump(exclude_unset=True)
    for required in ("name", "capabilities", "tags", "status"):
        if required in changes and changes[required] is None:
            raise InvalidRequest(f"{required}: must not be null.")
    new_name = changes.get("name", agent.name)
    if new_name != agent.name and await _by_name(db, principal.org_id, new_name) is not None:
        raise InvalidRequest(f"name: an agent named '{new_name}' already exists.")
    if "capabilities" in changes:
        changes["capabilities"] = await validated_capabilities(
            db, principal.org_id, changes["capabilities"], field="capabilities"
        )
    if changes.get("status") == "archived" and (agent.is_default and changes.get("is_default") is not False):
        raise InvalidRequest("status: the default agent cannot be archived; make another agent the default first.")
    if changes.get("is_default") is True:
        await db.execute(update(Agent).where(Agent.org_id == principal.org_id).values(is_default=False))
    elif changes.get("is_default") is False and agent.is_default:
        raise InvalidRequest("is_default: make another agent the default instead (PATCH it with is_default: true).")
    for key, value in changes.items():
        if key == "tags":
            value = list(dict.fromkeys(value))
        setattr(agent, key, value)
    agent.updated_at = utcnow()
    await db.flush()
    return agent


async def archive(db: AsyncSession, principal: Principal, ref: str) -> None:
    await update_agent(db, principal, ref, AgentUpdate(status="archived"))


async def list_agents(
    db: AsyncSession, principal: Principal, *, offset: int, limit: int
) -> tuple[Sequence[Agent], int]:
    await ensure_default(db, principal.org_id)
    base = select(Agent).where(Agent.org_id == principal.org_id)
    total = int((await db.execute(select(func.count()).select_from(base.subquery()))).scalar_one())
    if offset >= total:  # past the end: no query (a huge offset would not even fit the SQL integer)
        return [], total
    rows = (await db.execute(base.order_by(Agent.created_at, Agent.id).offset(offset).limit(limit))).scalars()
    return list(rows), total


async def add_usage(db: AsyncSession, agent_id: str, turn_usage: dict[str, Any]) -> None:
    agent = await db.get(Agent, agent_id)
    if agent is not None:
        agent.usage = sum_usage(agent.usage, turn_usage)
