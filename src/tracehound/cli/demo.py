"""``tracehound demo``: a demo organisation wired to the simulator with an injected fault, a running server,
and a demo investigation followed live until its report is printed. Safe to re-run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.markdown import Markdown
from rich.panel import Panel
from rich.status import Status
from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.auth import repository as auth_repo
from tracehound.auth import service as auth
from tracehound.cli.common import console, err_console, run_db, settings
from tracehound.kit.clock import utcnow
from tracehound.sources import service as sources

DEMO_ORG = "demo"
DEMO_ADMIN = "admin@demo.local"
DEMO_FAULT = {
    "seed": 7,
    "fault": {"service": "payment", "type": "errors", "start": None, "duration_minutes": 60},
}


def provision() -> str:
    """Create (or reuse) the demo organisation, its admin and simulator source; return a fresh admin key."""

    async def go(db: AsyncSession) -> str:
        org = await auth_repo.org_by_name(db, DEMO_ORG) or await auth.create_org(db, name=DEMO_ORG)
        org.api_enabled = True
        await auth.add_user(db, org_name=DEMO_ORG, email=DEMO_ADMIN, role="admin")
        await sources.add_source(db, org_id=org.id, name="simulator", kind="simulator", config=DEMO_FAULT, replace=True)
        for key, _user in await auth_repo.keys_of_org(db, org.id):
            if key.name == "demo" and key.revoked_at is None:
                key.revoked_at = utcnow()
        return (await auth.create_key(db, org_name=DEMO_ORG, email=DEMO_ADMIN, name="demo")).secret

    return run_db(go)


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def ensure_server(base: str, host: str, port: int, log_path: Path) -> subprocess.Popen[bytes] | None:
    if _ready(base):
        console.print(f"using the tracehound server already running at {base}")
        return None
    cmd = [sys.executable, "-m", "tracehound", "serve", "--host", host, "--port", str(port)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT)
    console.print(f"server log: {log_path}")
    deadline = time.monotonic() + 60
    with Status(f"starting the server at {base} …", console=console):
        while not _ready(base):
            if proc.poll() is not None or time.monotonic() > deadline:
                err_console.print(f"the server did not start; see {log_path}")
                raise typer.Exit(1)
            time.sleep(0.2)
    return proc


def follow(base: str, key: str, session_id: str, timeout: float = 600) -> dict[str, Any]:
    """Poll the session (as any Traversal client would), showing its progress events, until it settles."""
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + timeout
    with Status("investigating …", console=console) as status:
        while time.monotonic() < deadline:
            session: dict[str, Any] = httpx.get(f"{base}/v1/sessions/{session_id}", headers=headers, timeout=10).json()
            steps = _latest_step(base, headers, session_id)
            status.update(f"[bold]{session['status']}[/bold] {steps}")
            if session["status"] in ("idle", "failed"):
                return session
            time.sleep(0.3)
    raise TimeoutError(f"session {session_id} did not settle within {timeout:.0f} s")


def _latest_step(base: str, headers: dict[str, str], session_id: str) -> str:
    try:
        r = httpx.get(f"{base}/v1/sessions/{session_id}/events", headers=headers, timeout=5)
        events = r.json().get("data", []) if r.status_code == 200 else []
    except (httpx.HTTPError, ValueError):
        return ""
    return events[-1]["data"].get("step", "") if events else ""


def run_demo(*, exit_after: bool, port: int | None = None) -> None:
    cfg = settings()
    host, port = cfg.host, port or cfg.port
    base = f"http://{host}:{port}"
    key = provision()
    proc = ensure_server(base, host, port, cfg.data_dir / "demo-server.log")
    # The simulator's fault starts 10 minutes before the incident time: the page came after the fault began.
    incident_time = (utcnow() - timedelta(minutes=5)).replace(second=0, microsecond=0)
    body = {
        "input": f"Checkout is returning 500 errors, paged at {incident_time:%H:%M} UTC; customers cannot pay.",
        "time": incident_time.isoformat().replace("+00:00", "Z"),
    }
    console.print(
        Panel.fit(
            f"URL      {base}\nweb UI   {base}/ui (sign in with the API key)\nAPI key  {key}\nincident {body['input']}",
            title="tracehound demo",
            border_style="cyan",
        )
    )
    r = httpx.post(f"{base}/v1/sessions", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    if r.status_code not in (200, 201):
        err_console.print(f"could not create the session: {r.status_code} {r.text}")
        raise typer.Exit(1)
    session = follow(base, key, r.json()["id"])
    answer = next((m for m in reversed(session["messages"]) if m["role"] == "assistant"), None)
    console.print(Markdown(answer["markdown_content"] if answer else "(no answer)"))
    console.print(
        f"\nsession {session['id']} is [bold]{session['status']}[/bold]. Try:\n"
        f"  curl -s -H 'Authorization: Bearer {key}' {base}/v1/sessions/{session['id']}\n"
        f"  TRACEHOUND_URL={base} TRACEHOUND_API_KEY={key} \\\n"
        f"    tracehound sessions ask {session['id']} 'why not the database?'\n"
        f"  open {base}/ui/sessions/{session['id']} in a browser"
    )
    if proc is None:
        return
    if exit_after:
        proc.terminate()
        proc.wait(timeout=30)
        return
    console.print(f"\nthe server keeps running at {base}; press Ctrl-C to stop it.")
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=30)
    if session["status"] != "idle":
        raise typer.Exit(1)
