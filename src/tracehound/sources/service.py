"""Add, list and remove an organisation's data sources. Configs are validated by the connector registry."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.connectors.registry import SOURCE_KINDS, validate_source_config
from tracehound.kit.clock import utcnow
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
        raise InvalidRequest(f"config: {exc}") from exc
    existing = (
        await db.execute(select(DataSource).where(DataSource.org_id == org_id, DataSource.name == name))
    ).scalar_one_or_none()
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


async def list_sources(db: AsyncSession, *, org_id: str) -> Sequence[DataSource]:
    stmt = select(DataSource).where(DataSource.org_id == org_id).order_by(DataSource.name)
    return list((await db.execute(stmt)).scalars())


async def remove_source(db: AsyncSession, *, org_id: str, name: str) -> None:
    result = await db.execute(delete(DataSource).where(DataSource.org_id == org_id, DataSource.name == name))
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound(f"No data source named '{name}'.")
