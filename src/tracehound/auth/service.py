"""Rules for authentication and for the operator commands (organisations, users, keys)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.auth import repository as repo
from tracehound.auth.principal import ROLES, Principal
from tracehound.kit.clock import utcnow
from tracehound.kit.errors import Forbidden, InvalidRequest, NotFound, Unauthorized
from tracehound.kit.ids import hash_api_key, looks_like_api_key, new_api_key, new_id, parse_uuid
from tracehound.models import ApiKey, Organization, User

_ORG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("Missing API key: send 'Authorization: Bearer trv_ak_...'.")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Malformed Authorization header: expected 'Bearer trv_ak_...'.")
    if not looks_like_api_key(token):
        raise Unauthorized("Malformed API key: tracehound keys look like 'trv_ak_' followed by 43 characters.")
    return token


def authenticate(conn: Connection, *, authorization: str | None) -> Principal:
    """The caller behind a Bearer header. 401 for a bad key, 403 when the organisation's API is disabled.
    Sync, for ``Database.read``: it runs on every authenticated request."""
    token = bearer_token(authorization)
    row = repo.principal_record(conn, key_hash=hash_api_key(token))
    if row is None:
        raise Unauthorized("Unknown API key.")
    if row.revoked_at is not None:
        raise Unauthorized("This API key has been revoked.")
    if not row.api_enabled:
        raise Forbidden(
            f"The V1 API is not enabled for organization '{row.org_name}'. "
            "An operator can enable it with: tracehound org update NAME --api-enabled"
        )
    return Principal(
        key_id=row.key_id,
        user_id=row.user_id,
        email=row.email,
        role=row.role,
        org_id=row.org_id,
        org_name=row.org_name,
        api_enabled=row.api_enabled,
        max_running=row.max_running,
    )


def principal_of(key: ApiKey, user: User, org: Organization) -> Principal:
    """The principal of ORM rows (the web UI's session lookup)."""
    return Principal(
        key_id=key.id,
        user_id=user.id,
        email=user.email,
        role=user.role,
        org_id=org.id,
        org_name=org.name,
        api_enabled=org.api_enabled,
        max_running=org.max_running,
    )


def require_admin(principal: Principal, what: str) -> None:
    if not principal.is_admin:
        raise Forbidden(f"{what} requires the 'admin' role; this API key's user has the '{principal.role}' role.")


# --- operator commands -------------------------------------------------------------------------------------


async def get_org(db: AsyncSession, name: str) -> Organization:
    org = await repo.org_by_name(db, name)
    if org is None:
        raise NotFound(f"No organization named '{name}'.")
    return org


async def create_org(db: AsyncSession, *, name: str, api_enabled: bool = True, max_running: int = 5) -> Organization:
    if not _ORG_NAME.match(name):
        raise InvalidRequest("name: use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit.")
    if max_running < 1:
        raise InvalidRequest("max_running: must be at least 1.")
    if await repo.org_by_name(db, name) is not None:
        raise InvalidRequest(f"name: an organization named '{name}' already exists.")
    org = Organization(id=new_id(), name=name, api_enabled=api_enabled, max_running=max_running, created_at=utcnow())
    db.add(org)
    await db.flush()
    return org


async def update_org(
    db: AsyncSession, *, name: str, api_enabled: bool | None = None, max_running: int | None = None
) -> Organization:
    org = await get_org(db, name)
    if api_enabled is not None:
        org.api_enabled = api_enabled
    if max_running is not None:
        if max_running < 1:
            raise InvalidRequest("max_running: must be at least 1.")
        org.max_running = max_running
    await db.flush()
    return org


async def add_user(db: AsyncSession, *, org_name: str, email: str, role: str) -> User:
    if role not in ROLES:
        raise InvalidRequest(f"role: must be one of {', '.join(ROLES)}.")
    if not _EMAIL.match(email):
        raise InvalidRequest(f"email: '{email}' is not an email address.")
    org = await get_org(db, org_name)
    existing = await repo.user_by_email(db, org_id=org.id, email=email.lower())
    if existing is not None:
        existing.role = role
        await db.flush()
        return existing
    user = User(id=new_id(), org_id=org.id, email=email.lower(), role=role, created_at=utcnow())
    db.add(user)
    await db.flush()
    return user


@dataclass(frozen=True, slots=True)
class CreatedKey:
    key: ApiKey
    secret: str  # shown once


async def create_key(db: AsyncSession, *, org_name: str, email: str, name: str | None = None) -> CreatedKey:
    org = await get_org(db, org_name)
    user = await repo.user_by_email(db, org_id=org.id, email=email.lower())
    if user is None:
        raise NotFound(f"No user '{email}' in organization '{org_name}'. Add one with: tracehound user add")
    secret = new_api_key()
    key = ApiKey(
        id=new_id(),
        org_id=org.id,
        user_id=user.id,
        key_hash=hash_api_key(secret),
        key_prefix=secret[:12],
        name=name,
        created_at=utcnow(),
        revoked_at=None,
    )
    db.add(key)
    await db.flush()
    return CreatedKey(key=key, secret=secret)


async def revoke_key(db: AsyncSession, *, key_id: str, org_id: str | None = None) -> ApiKey:
    canonical = parse_uuid(key_id)
    key = None if canonical is None else await repo.key_by_id(db, canonical)
    if key is None or (org_id is not None and key.org_id != org_id):
        raise NotFound(f"No API key with id '{key_id}'.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await db.flush()
    return key


async def list_keys(db: AsyncSession, *, org_name: str) -> Sequence[tuple[ApiKey, User]]:
    org = await get_org(db, org_name)
    return await repo.keys_of_org(db, org.id)
