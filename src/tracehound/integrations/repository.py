"""Queries of the integration tables."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.models import AlertEpisode, AlertIntegration, Organization, User, WebhookDelivery, WebhookSubscription


async def integration_by_token_hash(db: AsyncSession, token_hash: str) -> AlertIntegration | None:
    stmt = select(AlertIntegration).where(AlertIntegration.token_hash == token_hash)
    return (await db.execute(stmt)).scalar_one_or_none()


async def integration_by_name(db: AsyncSession, org_id: str, name: str) -> AlertIntegration | None:
    stmt = select(AlertIntegration).where(AlertIntegration.org_id == org_id, AlertIntegration.name == name)
    return (await db.execute(stmt)).scalar_one_or_none()


async def integrations(db: AsyncSession, org_id: str) -> Sequence[AlertIntegration]:
    stmt = select(AlertIntegration).where(AlertIntegration.org_id == org_id).order_by(AlertIntegration.name)
    return list((await db.execute(stmt)).scalars())


async def org(db: AsyncSession, org_id: str) -> Organization | None:
    return await db.get(Organization, org_id)


async def acting_user(db: AsyncSession, org_id: str, preferred: str | None) -> User | None:
    """The integration's creator, or (if that user is gone) any admin of the organisation."""
    if preferred is not None:
        user = await db.get(User, preferred)
        if user is not None and user.org_id == org_id:
            return user
    stmt = select(User).where(User.org_id == org_id, User.role == "admin").order_by(User.created_at).limit(1)
    return (await db.execute(stmt)).scalar_one_or_none()


async def subscriptions(db: AsyncSession, org_id: str) -> Sequence[WebhookSubscription]:
    stmt = (
        select(WebhookSubscription)
        .where(WebhookSubscription.org_id == org_id)
        .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
    )
    return list((await db.execute(stmt)).scalars())


async def deliveries(db: AsyncSession, subscription_id: str, limit: int = 100) -> Sequence[WebhookDelivery]:
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(limit)
    )
    return list((await db.execute(stmt)).scalars())


async def episodes(db: AsyncSession, org_id: str, group_hash: str, *, limit: int) -> Sequence[AlertEpisode]:
    """The group's episodes, newest first."""
    stmt = (
        select(AlertEpisode)
        .where(AlertEpisode.org_id == org_id, AlertEpisode.group_hash == group_hash)
        .order_by(AlertEpisode.created_at.desc(), AlertEpisode.id.desc())
        .limit(limit)
    )
    return list((await db.execute(stmt)).scalars())
