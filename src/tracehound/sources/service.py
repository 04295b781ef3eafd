"""An organisation's data sources ("connectors" in the API): add, list, replace, remove and check them. Configs
are validated by the connector registry; secret fields are stored but never returned or printed (:func:`redact`).

The functions taking a :class:`Principal` are the API's (admin only); the others are the operator CLI's.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.auth.principal import Principal
from tracehound.auth.service import require_admin
from tracehound.connectors.registry import SOURCE_KINDS, build_sources, is_secret_field, validate_source_config
from tracehound.kit.clock import isoformat_z, utcnow
from tracehound.kit.errors import InvalidRequest, NotFound
from tracehound.kit.ids import new_id
from tracehound.models import DataSource

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


async def add_source(
    db: AsyncSession, *, org_id: str, name: str, kind: str, config: Mapping[str, Any], replace: bool = False
) -> DataSource:
    if not _NAME.match(name):
        raise InvalidRequest("name: use 1-100 lowercase letters, digits, '_' or '-'.")
    if kind not in SOURCE_KINDS:
        raise InvalidRequest(f"kind: '{kind}' is not a known source kind; choose one of {', '.join(SOURCE_KINDS)}.")
    try:
        clean = validate_source_config(kind, config)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
    existing = await get_source(db, org_id=org_id, name=name)
    if existing is not None:
        if not replace:
            raise InvalidRequest(f"name: a data source named '{name}' already exists (use --replace).")
        existing.kind, existing.config = kind, clean
        await db.flush()
        return existing
    source = DataSource(id=new_id(), org_id=org_id, name=name, kind=kind, config=clean, created_at=utcnow())
    db.add(source)
    await db.flush()
    return source


async def get_source(db: AsyncSession, *, org_id: str, name: str) -> DataSource | None:
    stmt = select(DataSource).where(DataSource.org_id == org_id, DataSource.name == name)
    return (await db.execute(stmt)).scalar_one_or_none()


async def list_sources(db: AsyncSession, *, org_id: str) -> Sequence[DataSource]:
    stmt = select(DataSource).where(DataSource.org_id == org_id).order_by(DataSource.name)
    return list((await db.execute(stmt)).scalars())


async def remove_source(db: AsyncSession, *, org_id: str, name: str) -> None:
    result = await db.execute(delete(DataSource).where(DataSource.org_id == org_id, DataSource.name == name))
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound(f"No data source named '{name[:100]}'.")


# --- what may be shown ------------------------------------------------------------------------------------------


def redact(kind: str, config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(the config without its secret fields, the names of the secret fields that are set)."""
    clean: dict[str, Any] = {}
    present: list[str] = []
    for key, value in config.items():
        if is_secret_field(kind, key):
            if value is not None:
                present.append(key)
            continue
        clean[key] = value
    return clean, sorted(present)


def source_dict(source: DataSource) -> dict[str, Any]:
    config, present = redact(source.kind, source.config)
    return {
        "id": source.id,
        "name": source.name,
        "kind": source.kind,
        "config": config,
        "secrets_set": present,
        "created_at": isoformat_z(source.created_at),
    }


# --- the API's side (admins only) -------------------------------------------------------------------------------


async def _connector(db: AsyncSession, principal: Principal, name: str) -> DataSource:
    source = await get_source(db, org_id=principal.org_id, name=name)
    if source is None:
        raise NotFound(f"No connector named '{name[:100]}' in your organization.")
    return source


async def list_connectors(db: AsyncSession, principal: Principal) -> Sequence[DataSource]:
    require_admin(principal, "Listing connectors")
    return await list_sources(db, org_id=principal.org_id)


async def get_connector(db: AsyncSession, principal: Principal, name: str) -> DataSource:
    require_admin(principal, "Reading connectors")
    return await _connector(db, principal, name)


async def create_connector(
    db: AsyncSession, principal: Principal, *, name: str, kind: str, config: Mapping[str, Any]
) -> DataSource:
    require_admin(principal, "Creating connectors")
    return await add_source(db, org_id=principal.org_id, name=name, kind=kind, config=config)


def merge_secrets(kind: str, stored: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """``new``, plus the stored secret fields it leaves out (they are never shown, so clients cannot resend them).
    An explicit ``null`` clears a secret."""
    merged = dict(new)
    for key, value in stored.items():
        if is_secret_field(kind, key) and key not in merged:
            merged[key] = value
    return merged


async def update_connector(
    db: AsyncSession, principal: Principal, name: str, *, kind: str | None, config: Mapping[str, Any]
) -> DataSource:
    """Replace a connector's config. Secret fields left out keep their stored values (same kind only)."""
    require_admin(principal, "Updating connectors")
    existing = await _connector(db, principal, name)
    new_kind = kind or existing.kind
    merged = merge_secrets(new_kind, existing.config, config) if new_kind == existing.kind else dict(config)
    return await add_source(db, org_id=principal.org_id, name=name, kind=new_kind, config=merged, replace=True)


async def delete_connector(db: AsyncSession, principal: Principal, name: str) -> None:
    require_admin(principal, "Deleting connectors")
    await _connector(db, principal, name)
    await remove_source(db, org_id=principal.org_id, name=name)


async def check_source(kind: str, config: Mapping[str, Any], *, limit_seconds: float = 15.0) -> dict[str, Any]:
    """Ask a source for its services: ``{"ok", "services", "error", "elapsed_ms"}``; never raises for the source's
    own failure (the error is the answer)."""
    started = time.perf_counter()
    try:
        built = build_sources([(kind, config)], anchor=utcnow())
    except ValueError as exc:  # a stored config that no longer validates (e.g. a dataset folder removed)
        return {"ok": False, "services": [], "error": str(exc)[:1000], "elapsed_ms": 0}
    if built.metrics is None:
        return {"ok": True, "services": [], "error": None, "elapsed_ms": 0}
    try:
        names = sorted(await asyncio.wait_for(built.metrics.services(), limit_seconds))
        error = None
    except TimeoutError:
        names, error = [], f"no answer within {limit_seconds:g}s"
    except Exception as exc:  # reported to the admin, not raised
        names, error = [], f"{type(exc).__name__}: {exc}"[:1000]
    elapsed = int((time.perf_counter() - started) * 1000)
    return {"ok": error is None, "services": names, "error": error, "elapsed_ms": elapsed}
