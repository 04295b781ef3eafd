"""The CLI against a server that has only Traversal's four endpoints (no event stream): it falls back to polling;
and where the connection settings come from."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import typer

from tracehound.cli.remote import follow, last_event_id, resolve
from tracehound.client import Client, Session

SID = "11111111-1111-4111-8111-111111111111"


def _traversal_only(statuses: list[str]) -> httpx.Client:
    """A Traversal-like server: 404 for tracehound's additive paths; GET answers the next status."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(("/sse", "/events")):
            return httpx.Response(404, json={"detail": "Not Found"})
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        messages = [{"id": "m", "role": "assistant", "markdown_content": "## Root cause\npayment"}]
        return httpx.Response(200, json={"id": SID, "status": status, "messages": messages})

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_follow_polls_when_the_server_has_no_event_stream() -> None:
    http = _traversal_only(["running", "running", "idle"])
    with Client("http://traversal.example", "k", http_client=http, sleep=lambda _: None) as c:
        assert last_event_id(c, SID) == 0
        done = follow(c, Session(SID, "running"), since_id=0, timeout=30, show=False)
    assert done.status == "idle" and done.answer == "## Root cause\npayment"


def test_flags_beat_the_environment_which_beats_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "tracehound" / "config.toml"
    cfg.parent.mkdir()
    cfg.write_text('url = "http://from-file"\nkey = "file-key"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("TRACEHOUND_URL", raising=False)
    monkeypatch.delenv("TRACEHOUND_API_KEY", raising=False)
    assert resolve(None, None) == ("http://from-file", "file-key")
    monkeypatch.setenv("TRACEHOUND_API_KEY", "env-key")
    assert resolve(None, None) == ("http://from-file", "env-key")
    assert resolve("http://flag", "flag-key") == ("http://flag", "flag-key")
    cfg.write_text("url = [broken")
    with pytest.raises(typer.Exit) as info:
        resolve(None, None)
    assert info.value.exit_code == 2
