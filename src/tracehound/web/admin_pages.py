"""Admin pages: API keys (create shows the key once, revoke) and users with their roles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from tracehound.auth import repository as auth_repo
from tracehound.auth import service as auth
from tracehound.auth.principal import ROLES, Principal
from tracehound.kit.errors import InvalidRequest, NotFound
from tracehound.models import User
from tracehound.sessions import repository as session_repo
from tracehound.web import deps
from tracehound.web.pages import WebRoute, page

router = APIRouter(route_class=WebRoute, include_in_schema=False)

KEYS = "API keys"
USERS = "Users and roles"


async def _keys_page(request: Request, principal: Principal, extra: Mapping[str, Any], status: int = 200) -> Response:
    async with deps.database(request).reader() as db:
        keys = await auth.list_keys(db, org_name=principal.org_name)
        users = await auth_repo.users_of_org(db, principal.org_id)
    ctx = {"keys": sorted(keys, key=lambda kv: kv[0].created_at, reverse=True), "users": users, **extra}
    return page(request, "admin_keys.html", ctx, status)


@router.get("/ui/admin/keys")
async def keys_page(request: Request) -> Response:
    principal = await deps.admin(request, KEYS)
    return await _keys_page(request, principal, {})


@router.post("/ui/admin/keys")
async def create_key(request: Request) -> Response:
    principal = await deps.admin(request, KEYS)
    data = await deps.form(request)
    email = deps.text(data, "email", 320)
    name = deps.text(data, "name", 100).strip() or None
    try:
        async with deps.database(request).transaction() as db:
            created = await auth.create_key(db, org_name=principal.org_name, email=email, name=name)
            secret, prefix = created.secret, created.key.key_prefix
    except (NotFound, InvalidRequest) as exc:
        return await _keys_page(request, principal, {"error": exc.message}, exc.status_code)
    return await _keys_page(request, principal, {"new_secret": secret, "new_prefix": prefix, "new_email": email})


@router.post("/ui/admin/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str) -> Response:
    principal = await deps.admin(request, KEYS)
    await deps.form(request)
    async with deps.database(request).transaction() as db:
        await auth.revoke_key(db, key_id=key_id, org_id=principal.org_id)
    return RedirectResponse("/ui/admin/keys?done=revoked", status_code=303)


async def _users_page(request: Request, principal: Principal, extra: Mapping[str, Any], status: int = 200) -> Response:
    async with deps.database(request).reader() as db:
        users = await auth_repo.users_of_org(db, principal.org_id)
        keys = await auth_repo.keys_of_org(db, principal.org_id)
    active = {u.id: 0 for u in users}
    for key, user in keys:
        if key.revoked_at is None:
            active[user.id] = active.get(user.id, 0) + 1
    ctx = {"users": users, "roles": ROLES, "active_keys": active, **extra}
    return page(request, "admin_users.html", ctx, status)


@router.get("/ui/admin/users")
async def users_page(request: Request) -> Response:
    principal = await deps.admin(request, USERS)
    return await _users_page(request, principal, {})


async def _admin_count(db: AsyncSession, org_id: str) -> int:
    stmt = select(func.count()).select_from(User).where(User.org_id == org_id, User.role == "admin")
    return int((await db.execute(stmt)).scalar_one())


async def save_role(db: AsyncSession, principal: Principal, *, email: str, role: str) -> None:
    """Add a user or change a user's role; the organisation always keeps at least one admin."""
    await session_repo.lock_org(db, principal.org_id)  # two admins demoting each other cannot both succeed
    existing = await auth_repo.user_by_email(db, org_id=principal.org_id, email=email)
    demoted = existing is not None and existing.role == "admin" and role != "admin"
    if demoted and await _admin_count(db, principal.org_id) <= 1:
        raise InvalidRequest(f"{email} is the organisation's last admin; make someone else admin first.")
    await auth.add_user(db, org_name=principal.org_name, email=email, role=role)


@router.post("/ui/admin/users")
async def save_user(request: Request) -> Response:
    principal = await deps.admin(request, USERS)
    data = await deps.form(request)
    email = deps.text(data, "email", 320).strip().lower()
    role = deps.text(data, "role", 16)
    try:
        async with deps.database(request).transaction() as db:
            await save_role(db, principal, email=email, role=role)
    except (InvalidRequest, NotFound) as exc:
        return await _users_page(request, principal, {"error": exc.message, "email": email}, exc.status_code)
    if email == principal.email and role != "admin":
        return RedirectResponse("/ui?done=user-saved", status_code=303)  # they just gave up the admin pages
    return RedirectResponse("/ui/admin/users?done=user-saved", status_code=303)
