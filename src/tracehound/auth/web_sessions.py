"""Server-side sessions of the web UI.

A sign-in stores the SHA-256 of a fresh random token (256 bits) with the API key it was made from and an absolute
expiry; the token itself travels only in the visitor's signed, HttpOnly cookie. Every page looks the token up, so
signing out (the row is deleted), revoking the key, or the expiry ends the session at the next request, even for
someone holding a copy of the cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.auth.principal import Principal
from tracehound.auth.service import principal_of
from tracehound.kit.clock import utcnow
from tracehound.models import ApiKey, Organization, User, WebSession

TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    return hashlib.sha256(b"web-session|" + token.encode()).hexdigest()


async def start(db: AsyncSession, *, key_id: str, lifetime_seconds: int) -> str:
    """A new session for ``key_id``; returns its token (for the cookie). Expired sessions are purged here."""
    now = utcnow()
    await db.execute(delete(WebSession).where(WebSession.expires_at <= now))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires = now + timedelta(seconds=lifetime_seconds)
    db.add(WebSession(id=token_hash(token), key_id=key_id, created_at=now, expires_at=expires))
    await db.flush()
    return token


async def principal(db: AsyncSession, token: str) -> Principal | None:
    """Who is signed in with ``token``; None when the session ended, expired, or its key was revoked."""
    stmt = (
        select(ApiKey, User, Organization)
        .join(WebSession, WebSession.key_id == ApiKey.id)
        .join(User, User.id == ApiKey.user_id)
        .join(Organization, Organization.id == ApiKey.org_id)
        .where(WebSession.id == token_hash(token), WebSession.expires_at > utcnow(), ApiKey.revoked_at.is_(None))
    )
    row = (await db.execute(stmt)).first()
    return None if row is None else principal_of(row[0], row[1], row[2])


async def end(db: AsyncSession, token: str) -> None:
    await db.execute(delete(WebSession).where(WebSession.id == token_hash(token)))
