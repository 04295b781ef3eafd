"""Operability: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.responses import PlainTextResponse, Response

from tracehound.api.deps import StateDep

router = APIRouter(tags=["Operations"])


@router.get("/healthz", include_in_schema=True, summary="Liveness: the process answers")
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get("/readyz", summary="Readiness: the database and the workflow engine are reachable")
async def readyz(state: StateDep) -> Response:
    checks: dict[str, str] = {}
    dbos_table = "workflow_status" if state.database.urls.is_sqlite else "dbos.workflow_status"
    try:
        async with state.database.reader() as db:
            await db.execute(text("SELECT 1"))
            checks["database"] = "ok"
            await db.execute(text(f"SELECT 1 FROM {dbos_table} LIMIT 1"))  # noqa: S608 - constant table name
            checks["workflow_engine"] = "ok"
    except Exception as exc:
        checks.setdefault("database", "unavailable")
        checks.setdefault("workflow_engine", "unavailable")
        body = {
            "status": "unavailable",
            "checks": checks,
            "error": {"message": f"Not ready: {type(exc).__name__}", "retry_after": 5},
        }
        return Response(
            orjson.dumps(body), status_code=503, media_type="application/json", headers={"Retry-After": "5"}
        )
    return Response(orjson.dumps({"status": "ok", "checks": checks}), media_type="application/json")


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=True, response_class=PlainTextResponse)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
