"""How the client-side commands reach a server, and how they print: the connection (flags, environment, config
file), errors as one line and an exit code, JSON output, and the live progress of a turn."""

from __future__ import annotations

import json
import os
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from tracehound.cli.common import err_console
from tracehound.client import Client, Event, Session, TracehoundAPIError, TracehoundClientError

CONNECTION_HELP = (
    "The server comes from --url/--key, else TRACEHOUND_URL/TRACEHOUND_API_KEY, else "
    "~/.config/tracehound/config.toml (keys `url` and `key`; $XDG_CONFIG_HOME is honoured). "
    "Exit codes: 0 done, 1 the server refused or the investigation failed, 2 a usage or configuration error."
)


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tracehound" / "config.toml"


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` (as text, never as markup) and return the exit to raise."""
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    return typer.Exit(code)


def resolve(url: str | None, key: str | None) -> tuple[str, str | None]:
    """Flags win over the environment, which wins over the config file."""
    url = url or os.environ.get("TRACEHOUND_URL")
    key = key or os.environ.get("TRACEHOUND_API_KEY")
    path = config_path()
    if (url is None or key is None) and path.is_file():
        try:
            cfg = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise fail(f"cannot read {path}: {exc}", 2) from exc
        url = url or (str(cfg["url"]) if cfg.get("url") else None)
        key = key or (str(cfg["key"]) if cfg.get("key") else None)
    if not url:
        raise fail(f"no server URL. {CONNECTION_HELP}", 2)
    return url, key


@contextmanager
def connect(url: str | None, key: str | None) -> Iterator[Client]:
    """A client; API and connection errors end the command with a one-line message and exit code 1."""
    base, api_key = resolve(url, key)
    try:
        with Client(base, api_key) as client:
            yield client
    except TracehoundAPIError as exc:
        hint = f" (retry after {exc.retry_after} s)" if exc.retry_after is not None else ""
        raise fail(f"{exc.status}: {exc.message}{hint}") from exc
    except TracehoundClientError as exc:
        raise fail(str(exc)) from exc


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


class ProgressView:
    """A turn's events on stderr: a spinner with the current step and the elapsed time, and a line per finished
    step and per finding above it. Event text is printed as text, never interpreted as Rich markup."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("waiting for the investigation to start …", total=None)
        self.steps = 0

    def __call__(self, event: Event) -> None:
        detail = escape(str(event.data.get("detail") or ""))
        step = escape(str(event.data.get("step") or ""))
        say = self.progress.console.print
        if event.type == "step.started":
            self.progress.update(self.task, description=f"[bold]{step}[/bold] {detail}")
        elif event.type == "step.completed":
            self.steps += 1
            say(f"[green]✓[/green] [bold]{step}[/bold] {detail}", highlight=False)
            self.progress.update(self.task, description=f"investigating … ({self.steps} steps done)")
        elif event.type == "message.completed":
            self.progress.update(self.task, description="answer written")
        elif event.type == "evidence.found":
            say(f"  [cyan]•[/cyan] {detail}", highlight=False)
        elif event.type == "turn.started":
            self.progress.update(self.task, description="investigating …")
        elif event.type == "session.status":
            self.progress.update(self.task, description=f"[bold]{escape(str(event.data.get('status', '')))}[/bold] …")
        elif event.type == "session.failed":
            say("[red]✗ the investigation failed[/red]")


@contextmanager
def progress_view(*, enabled: bool) -> Iterator[ProgressView | None]:
    if not enabled:
        yield None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        yield ProgressView(progress)


def follow(client: Client, session: Session, *, since_id: int, timeout: float, show: bool) -> Session:
    """Follow the turn through the event stream (polling when the server has none), then fetch the session."""
    with progress_view(enabled=show) as view:
        try:
            for event in client.stream_events(session.id, since_id=since_id, until_idle=True):
                if view is not None:
                    view(event)
        except TracehoundAPIError as exc:
            if exc.status not in (404, 405, 501):
                raise
            # not a tracehound server: only the four Traversal endpoints; poll
        return client.wait(session.id, timeout=timeout)


def last_event_id(client: Client, session_id: str) -> int:
    """Where a follow-up's events start: after everything logged so far (0 when the server keeps no log)."""
    try:
        last = 0
        while True:
            page = client.list_events(session_id, since_id=last, limit=1000)
            if not page.data:
                return last
            last = page.next_since_id
    except TracehoundAPIError:
        return 0
