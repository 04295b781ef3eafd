"""Processes and databases for the benchmarks: real ``tracehound serve`` processes, the baseline app,
throw-away PostgreSQL databases and tenants. Everything binds to 127.0.0.1 and is stopped on exit."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
from tests.support.servers import Proc, free_port
from tests.support.tenants import Tenant, make_tenant

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

__all__ = ["Tenant", "make_tenant", "pg_database", "sqlite_url", "start_baseline", "start_tracehound"]


def _env(database_url: str, data_dir: Path) -> dict[str, str]:
    """The server's defaults (log level, intervals...), only the database and data directory are set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEHOUND_")}
    env.update({"TRACEHOUND_DATABASE_URL": database_url, "TRACEHOUND_DATA_DIR": str(data_dir)})
    return env


@contextlib.contextmanager
def _running(proc: Proc) -> Iterator[Proc]:
    try:
        yield proc.start()
    finally:
        proc.stop()


@contextlib.contextmanager
def start_tracehound(database_url: str, tmp: Path, *, api_only: bool = False) -> Iterator[Proc]:
    """``tracehound serve`` (uvicorn, uvloop, httptools, one process); with its worker unless ``api_only``."""
    args = ["serve", "--port", str(free_port())] + (["--api-only"] if api_only else [])
    with _running(Proc(args, _env(database_url, tmp), tmp / "tracehound.log", int(args[2]))) as proc:
        yield proc


class _BaselineProc(Proc):
    def start(self, *, wait_ready: bool = True, timeout: float = 60) -> Proc:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "bench.baseline_app", *self.args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).parent.parent,
        )
        if wait_ready:
            _wait_ready(self, timeout)
        return self


def _wait_ready(proc: Proc, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.popen is not None
        if proc.popen.poll() is not None:
            raise RuntimeError(f"baseline exited with {proc.popen.returncode}:\n{proc.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{proc.base_url}/readyz", timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"baseline not ready in {timeout}s:\n{proc.log_tail()}")
        time.sleep(0.1)


@contextlib.contextmanager
def start_baseline(database_url: str, tmp: Path, *, org_id: str = "") -> Iterator[Proc]:
    """The bare FastAPI baseline (bench/baseline_app.py) under uvicorn with the same loop and parser."""
    port = free_port()
    args = ["--port", str(port), "--database-url", database_url, "--org-id", org_id]
    with _running(_BaselineProc(args, dict(os.environ), tmp / "baseline.log", port)) as proc:
        yield proc


def sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{(tmp / 'tracehound.db').resolve()}"


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database ``th_bench_<random>``, dropped afterwards."""
    name = f"th_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_dsn(database_url: str) -> str:
    """A libpq DSN for psycopg from a ``postgresql://`` URL."""
    return database_url.replace("postgresql+psycopg://", "postgresql://")
