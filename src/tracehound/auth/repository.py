"""Queries for organisations, users and API keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.models import ApiKey, Organization, User

# Built once: the statement of every authenticated request (see Database.read).
_PRINCIPAL_BY_KEY_HASH = (
    select(
        ApiKey.id.label("key_id"),
        ApiKey.revoked_at,
        User.id.label("user_id"),
        User.email,
        User.role,
        Organization.id.label("org_id"),
        Organization.name.label("org_name"),
        Organization.api_enabled,
        Organization.max_running,
    )
    .join(User, User.id == ApiKey.user_id)
    .join(Organization, Organization.id == ApiKey.org_id)
    .where(ApiKey.key_hash == bindparam("key_hash"))
)


PrincipalRecord = Row[str, datetime | None, str, str, str, str, str, bool, int]


def principal_record(conn: Connection, *, key_hash: str) -> PrincipalRecord | None:
    """The key, its user and its organisation as one row (``key_id``, ``revoked_at``, ``user_id``, ``email``,
    ``role``, ``org_id``, ``org_name``, ``api_enabled``, ``max_running``), or None for an unknown key."""
    return conn.execute(_PRINCIPAL_BY_KEY_HASH, {"key_hash": key_hash}).first()


async def org_by_name(db: AsyncSession, name: str) -> Organization | None:
    return (await db.execute(select(Organization).where(Organization.name == name))).scalar_one_or_none()


async def user_by_email(db: AsyncSession, *, org_id: str, email: str) -> User | None:
    stmt = select(User).where(User.org_id == org_id, User.email == email)
    return (await db.execute(stmt)).scalar_one_or_none()


async def key_by_id(db: AsyncSession, key_id: str) -> ApiKey | None:
    return await db.get(ApiKey, key_id)


async def keys_of_org(db: AsyncSession, org_id: str) -> Sequence[tuple[ApiKey, User]]:
    stmt = (
        select(ApiKey, User)
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.org_id == org_id)
        .order_by(ApiKey.created_at, ApiKey.id)
    )
    return [(r[0], r[1]) for r in (await db.execute(stmt)).all()]


async def users_of_org(db: AsyncSession, org_id: str) -> Sequence[User]:
    stmt = select(User).where(User.org_id == org_id).order_by(User.created_at, User.email)
    return list((await db.execute(stmt)).scalars())


async def all_orgs(db: AsyncSession) -> Sequence[Organization]:
    return list((await db.execute(select(Organization).order_by(Organization.name))).scalars())
