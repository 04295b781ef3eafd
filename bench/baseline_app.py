"""The bare FastAPI baseline: the same session rows, from the same database, with one statement per request,
no authentication, no ORM. ``python -m bench.baseline_app --port N --database-url URL [--org-id ID]``.

Handlers are plain ``def`` (Starlette's thread pool) on a per-thread DB-API connection: sqlite3 (WAL, like
tracehound) or psycopg. Served by uvicorn with uvloop and httptools, exactly as ``tracehound serve`` is.
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy.engine import make_url
from starlette.responses import Response

SELECT_BY_ID = "SELECT * FROM sessions WHERE id = {p}"
INSERT = (
    "INSERT INTO sessions (id, org_id, origin, title, input, status, tags, usage, created_at, updated_at) "
    "VALUES ({p}, {p}, 'api', {p}, {p}, 'running', '[]', '{{}}', {p}, {p})"
)


class Body(BaseModel):
    input: str


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def create_app(database_url: str, org_id: str) -> FastAPI:
    parsed = make_url(database_url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    mark = "?" if is_sqlite else "%s"
    select_sql, insert_sql = SELECT_BY_ID.format(p=mark), INSERT.format(p=mark)
    local = threading.local()

    def connect() -> Any:
        conn = getattr(local, "conn", None)
        if conn is None:
            if is_sqlite:
                conn = sqlite3.connect(parsed.database or "", isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA busy_timeout=30000")
            else:
                dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
                conn = psycopg.connect(dsn, autocommit=True)
            local.conn = conn
        return conn

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/readyz")
    def readyz() -> Response:
        connect().execute("SELECT 1")
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.get("/v1/sessions/{session_id}")
    def get_session(session_id: str) -> Response:
        cur = connect().execute(select_sql, (session_id,))
        row = cur.fetchone()
        if row is None:
            return Response(b'{"message":"not found"}', status_code=404, media_type="application/json")
        names = [d[0] for d in cur.description]
        return Response(
            orjson.dumps({n: _jsonable(v) for n, v in zip(names, row, strict=True)}), media_type="application/json"
        )

    @app.post("/v1/sessions")
    def create_session(body: Body) -> Response:
        session_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        stamp: Any = now.strftime("%Y-%m-%d %H:%M:%S.%f") if is_sqlite else now
        connect().execute(insert_sql, (session_id, org_id, body.input[:80], body.input, stamp, stamp))
        return Response(
            orjson.dumps({"id": session_id, "status": "running"}), status_code=201, media_type="application/json"
        )

    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--org-id", default="")
    args = ap.parse_args()
    uvicorn.run(
        create_app(args.database_url, args.org_id),
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


if __name__ == "__main__":
    main()
