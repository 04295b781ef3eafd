from __future__ import annotations

import time
from typing import Any

import httpx


def wait_status(
    base: str,
    headers: dict[str, str],
    session_id: str,
    statuses: tuple[str, ...] = ("idle", "failed"),
    timeout: float = 60,
) -> dict[str, Any]:
    """Poll like the Traversal guide's client until the session reaches one of ``statuses``."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = httpx.get(f"{base}/v1/sessions/{session_id}", headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        last = r.json()
        if last["status"] in statuses:
            return last
        time.sleep(0.2)
    raise AssertionError(f"session {session_id} still {last.get('status')} after {timeout}s")
