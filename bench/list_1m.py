"""``list_1m``: ``GET /v1/sessions?page=P&limit=50`` on an organisation with 1,000,000 API sessions in
PostgreSQL, through the real server (``--api-only``), versus the same SQL run directly with psycopg."""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.env import make_tenant, pg_database, pg_dsn, start_tracehound
from bench.load import sequential
from bench.report import Row
from tracehound.db.migrate import migrate

LIMIT = 50
P99_TARGET_MS = 50.0
WHERE = "WHERE sessions.org_id = %(org)s AND sessions.origin = 'api'"
# The two statements the server runs for one page (see tracehound.sessions.repository.page / count).
COUNT_SQL = f"SELECT count(*) FROM sessions {WHERE}"
PAGE_SQL = (
    f"SELECT * FROM sessions {WHERE} ORDER BY sessions.created_at DESC, sessions.id DESC "
    "LIMIT %(limit)s OFFSET %(offset)s"
)
INSERT_SQL = """
INSERT INTO sessions (id, org_id, user_id, origin, title, input, status, tags, usage, output_preview,
                      created_at, updated_at, started_at, finished_at)
SELECT gen_random_uuid()::text, %(org)s, NULL, 'api', 'Checkout is returning 500 errors #' || g,
       'Checkout is returning 500 errors since 12:00 UTC; customers cannot pay. #' || g, 'idle',
       '["bench"]'::jsonb, '{"turns": 1}'::jsonb, 'The payment service started failing.',
       ts, ts, ts, ts + interval '2 seconds'
FROM (SELECT g, now() - g * interval '1 second' AS ts
      FROM generate_series(%(lo)s::int, %(hi)s::int) AS g) AS s
"""


def load_rows(dsn: str, org_id: str, n: int, batch: int = 250_000) -> float:
    """Insert ``n`` sessions for ``org_id`` server-side (multi-row INSERT ... SELECT), set the org's count,
    then VACUUM ANALYZE as autovacuum eventually would. Returns the seconds it took."""
    t0 = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for lo in range(1, n + 1, batch):
            conn.execute(INSERT_SQL, {"org": org_id, "lo": lo, "hi": min(n, lo + batch - 1)})
        conn.execute("UPDATE organizations SET api_session_count = %s WHERE id = %s", (n, org_id))
        conn.execute("VACUUM ANALYZE sessions")
    return time.perf_counter() - t0


def bench_list(*, rows: int, samples: int) -> tuple[list[Row], dict[str, Any]]:
    pages = {"1": 1, "2": 2, "100": 100, "random": random.Random(7).randint(1, rows // LIMIT)}
    out: list[Row] = []
    details: dict[str, Any] = {"rows": rows, "samples_per_page": samples, "pages": pages}
    with tempfile.TemporaryDirectory(prefix="th-bench-") as d, pg_database() as url:
        migrate(url)
        tenant = make_tenant(url, sim=None)
        details["load_seconds"] = round(load_rows(pg_dsn(url), tenant.org_id, rows), 1)
        with (
            start_tracehound(url, Path(d), api_only=True) as server,
            httpx.Client(timeout=30) as client,
            psycopg.connect(pg_dsn(url), autocommit=True) as conn,
        ):
            headers = tenant.headers()
            count_only = sequential(lambda: conn.execute(COUNT_SQL, {"org": tenant.org_id}).fetchone(), samples)
            details["count_query_only"] = count_only.to_dict()
            for label, page in pages.items():
                params = {"org": tenant.org_id, "limit": LIMIT, "offset": (page - 1) * LIMIT}

                def direct(params: dict[str, Any] = params) -> None:
                    conn.execute(COUNT_SQL, params).fetchone()
                    conn.execute(PAGE_SQL, params).fetchall()

                def api(page: int = page) -> None:
                    r = client.get(
                        f"{server.base_url}/v1/sessions", params={"page": page, "limit": LIMIT}, headers=headers
                    )
                    r.raise_for_status()
                    assert r.json()["count"] == LIMIT and r.json()["total"] == rows

                base = sequential(direct, samples)
                th = sequential(api, samples)
                page_only = sequential(lambda p=params: conn.execute(PAGE_SQL, p).fetchall(), samples)
                details[f"page_{label}"] = {
                    "page": page,
                    "tracehound": th.to_dict(),
                    "sql": base.to_dict(),
                    "page_query_only": page_only.to_dict(),
                }
                case = f"{rows:,} rows, page {label}" + (f" ({page})" if label == "random" else "")
                out.append(Row("list_1m", case, "p50 ms", th.p50_ms, base.p50_ms))
                p99 = Row("list_1m", case, "p99 ms", th.p99_ms, base.p99_ms, f"< {P99_TARGET_MS:g} ms")
                p99.met = th.p99_ms < P99_TARGET_MS
                out.append(p99)
    return out, details
