"""Alert episodes: how alert notifications map to sessions, whatever the sender (Alertmanager, PagerDuty).

An *episode* is one firing period of an alert group (or of a PagerDuty incident) and owns exactly one session.
Every alert instance it has seen (``fingerprint@startsAt``) is stored with it. A notification

* that repeats an instance of an episode belongs to that episode (a re-sent, repeated or late notification,
  even after the episode resolved): no new session;
* with only new instances joins the group's latest episode while it is still firing (another alert of the same
  group started): no new session;
* with only new instances after the latest episode resolved opens a new episode and a new session (the group
  fired again: a new incident).

Everything happens under the organisation's admission lock (the row lock / ``BEGIN IMMEDIATE`` of
:func:`tracehound.sessions.service.create`), so concurrent duplicates serialise and exactly one of them opens
the session; the session's idempotency key is derived from the episode's first alert as a second guard.
A resolution marks the episode resolved and is recorded on its session: the additive ``alert`` field
(``status: resolved``, ``resolved_at``), an ``alert.resolved`` event, and the ``alert-resolved`` tag.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.integrations import repository as repo
from tracehound.integrations.receivers import acting_principal
from tracehound.kit.clock import isoformat_z, utcnow
from tracehound.kit.ids import new_id
from tracehound.models import AlertEpisode, AlertIntegration, Session
from tracehound.sessions import repository as session_repo
from tracehound.sessions import service as sessions
from tracehound.sessions.schemas import TAGS_MAX, TITLE_MAX, SessionCreate

RESOLVED_TAG = "alert-resolved"
MAX_INSTANCES = 1000
LOOKBACK_EPISODES = 50


@dataclass(frozen=True, slots=True)
class Received:
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Notification:
    """A sender's notification, normalised. ``seen`` = every alert instance it mentions (firing or resolved);
    ``firing`` = the instances still firing."""

    source: str  # alertmanager | pagerduty
    group_hash: str
    seen: tuple[str, ...]
    firing: tuple[str, ...]
    identity: dict[str, Any] = field(default_factory=dict)  # group_key / incident_id, url (shown on the session)


@dataclass(frozen=True, slots=True)
class Opening:
    """What a new session is made of."""

    idempotency_key: str
    text: str
    title: str
    incident_time: datetime
    tags: Sequence[str]


def _match(episodes: Sequence[AlertEpisode], seen: Sequence[str]) -> AlertEpisode | None:
    wanted = set(seen)
    for episode in episodes:  # newest first
        if wanted.intersection(episode.instances):
            return episode
    if episodes and episodes[0].status == "firing":
        return episodes[0]
    return None


async def _episode_for(db: AsyncSession, integration: AlertIntegration, n: Notification) -> AlertEpisode | None:
    await session_repo.lock_org(db, integration.org_id)
    episodes = await repo.episodes(db, integration.org_id, n.group_hash, limit=LOOKBACK_EPISODES)
    return _match(episodes, n.seen)


def _add_instances(episode: AlertEpisode, instances: Sequence[str]) -> None:
    new = [i for i in instances if i not in episode.instances]
    if new and episode.status == "firing":
        episode.instances = [*episode.instances, *new][-MAX_INSTANCES:]


def _alert_field(episode: AlertEpisode, n: Notification, integration: AlertIntegration) -> dict[str, Any]:
    return {
        "source": n.source,
        "integration_id": integration.id,
        "status": episode.status,
        "started_at": isoformat_z(episode.started_at),
        "resolved_at": isoformat_z(episode.resolved_at),
        "notifications": episode.notifications,
        **n.identity,
    }


def _answer(session: Session, *, created: bool) -> Received:
    body = {"session_id": session.id, "created": created, "status": session.status}
    return Received(201 if created else 200, body)


async def fire(
    db: AsyncSession,
    integration: AlertIntegration,
    n: Notification,
    opening: Opening,
    *,
    limits: sessions.Limits,
    enqueue: sessions.Enqueue,
) -> Received:
    """A firing notification: the session of its episode (200), or a new episode and session (201)."""
    episode = await _episode_for(db, integration, n)
    session = None if episode is None else await session_repo.get_any(db, episode.session_id)
    if episode is not None and session is not None:
        episode.notifications += 1
        episode.updated_at = utcnow()
        _add_instances(episode, n.firing)
        session.alert = _alert_field(episode, n, integration)
        await db.flush()
        return _answer(session, created=False)
    session, created = await _open_session(db, integration, opening, limits=limits, enqueue=enqueue)
    now = utcnow()
    episode = AlertEpisode(
        id=new_id(),
        integration_id=integration.id,
        org_id=integration.org_id,
        group_hash=n.group_hash,
        session_id=session.id,
        status="firing",
        instances=list(dict.fromkeys(n.firing or n.seen))[-MAX_INSTANCES:],
        notifications=1,
        started_at=opening.incident_time,
        resolved_at=None,
        created_at=now,
        updated_at=now,
    )
    db.add(episode)
    session.alert = _alert_field(episode, n, integration)
    await db.flush()
    return _answer(session, created=created)


async def _open_session(
    db: AsyncSession,
    integration: AlertIntegration,
    opening: Opening,
    *,
    limits: sessions.Limits,
    enqueue: sessions.Enqueue,
) -> tuple[Session, bool]:
    """Admission as for ``POST /v1/sessions`` (limit, idempotency key, durable enqueue), as the integration's admin."""
    principal = await acting_principal(db, integration)
    tags = list(dict.fromkeys([*opening.tags, *(integration.settings.get("tags") or [])]))[:TAGS_MAX]
    data = SessionCreate(
        input=opening.text[: limits.max_input_chars],
        title=opening.title[:TITLE_MAX],
        time=isoformat_z(opening.incident_time),
        idempotency_key=opening.idempotency_key,
        tags=tags,
        thinking_mode=integration.settings.get("thinking_mode"),
    )
    return await sessions.create(db, principal, data=data, limits=limits, enqueue=enqueue, origin="alert")


async def resolve(
    db: AsyncSession, integration: AlertIntegration, n: Notification, *, resolved_at: datetime | None
) -> Received:
    """A resolution: recorded once on the session of its episode; nothing to record -> ``recorded: false``."""
    episode = await _episode_for(db, integration, n)
    session = None if episode is None else await session_repo.get_any(db, episode.session_id)
    if episode is None or session is None:
        return Received(200, {"session_id": None, "recorded": False})
    now = utcnow()
    episode.notifications += 1
    episode.updated_at = now
    if episode.status == "resolved":
        await db.flush()
        return Received(200, {"session_id": session.id, "recorded": False})
    episode.status, episode.resolved_at = "resolved", resolved_at or now
    session.alert = _alert_field(episode, n, integration)
    session.tags = [*(session.tags or []), RESOLVED_TAG][-TAGS_MAX:]
    session.updated_at = now
    await db.flush()
    data = {"source": n.source, "resolved_at": isoformat_z(episode.resolved_at), **n.identity}
    await _append_event(db, session.id, "alert.resolved", data)
    return Received(200, {"session_id": session.id, "recorded": True})


async def _append_event(db: AsyncSession, session_id: str, type_: str, data: dict[str, Any]) -> None:
    """The worker may append a progress event to the same session at the same moment (PostgreSQL): the sequence
    number then collides on its unique constraint; retry in a savepoint."""
    for attempt in range(8):
        try:
            async with db.begin_nested():
                await session_repo.append_event(db, session_id=session_id, type_=type_, ts=utcnow(), data=data)
            return
        except IntegrityError:
            if attempt == 7:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))
