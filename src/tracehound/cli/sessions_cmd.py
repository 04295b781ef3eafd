"""``tracehound investigate`` and ``tracehound sessions``: the client side of the CLI. They talk to a tracehound
(or any Traversal-compatible) server through :mod:`tracehound.client`; ``investigate --local`` runs the engine in
this process instead, without a server or a database."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markdown import Markdown
from rich.status import Status
from rich.table import Table

from tracehound.cli.common import console, err_console
from tracehound.client import Client, Event, Session, TracehoundAPIError, TracehoundClientError

sessions_app = typer.Typer(
    help="Read and continue investigations on a tracehound (or any Traversal-compatible) server.",
    no_args_is_help=True,
)

DEMO_SIMULATOR = {"seed": 7, "fault": {"service": "payment", "type": "errors", "start": None, "duration_minutes": 60}}
CONNECTION_HELP = (
    "The server comes from --url/--key, else TRACEHOUND_URL/TRACEHOUND_API_KEY, else "
    "~/.config/tracehound/config.toml (keys `url` and `key`)."
)

Url = Annotated[str | None, typer.Option("--url", help="Server URL (or TRACEHOUND_URL, or the config file).")]
Key = Annotated[str | None, typer.Option("--key", help="API key trv_ak_… (or TRACEHOUND_API_KEY, or config file).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
WaitOpt = Annotated[
    bool, typer.Option("--wait/--no-wait", help="Follow the progress and print the answer (default), or return.")
]
Timeout = Annotated[float, typer.Option(help="Give up waiting after this many seconds.")]


# --- connection ------------------------------------------------------------------------------------------------


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tracehound" / "config.toml"


def _fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
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
            raise _fail(f"cannot read {path}: {exc}") from exc
        url = url or (str(cfg["url"]) if cfg.get("url") else None)
        key = key or (str(cfg["key"]) if cfg.get("key") else None)
    if not url:
        raise _fail(f"no server URL. {CONNECTION_HELP}", 2)
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
        raise _fail(f"{exc.status}: {exc.message}{hint}") from exc
    except TracehoundClientError as exc:
        raise _fail(str(exc)) from exc


# --- output ----------------------------------------------------------------------------------------------------


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@dataclass
class ProgressView:
    """Shows a turn's events on stderr: a spinner on the current step, a line per finished step and finding."""

    status: Status

    def __call__(self, event: Event) -> None:
        detail = str(event.data.get("detail") or "")
        step = str(event.data.get("step") or "")
        if event.type == "step.started":
            self.status.update(f"[bold]{step}[/bold] {detail}")
        elif event.type == "step.completed":
            err_console.print(f"[green]✓[/green] [bold]{step}[/bold] {detail}", highlight=False)
        elif event.type == "evidence.found":
            err_console.print(f"  [cyan]•[/cyan] {detail}", highlight=False)
        elif event.type == "session.status":
            self.status.update(f"[bold]{event.data.get('status', '')}[/bold] …")
        elif event.type == "session.failed":
            err_console.print("[red]✗ the investigation failed[/red]")


def follow(client: Client, session: Session, *, since_id: int, timeout: float, show: bool) -> Session:
    """Follow the turn through the event stream (polling when the server has none), then fetch the session."""
    with Status("waiting for the investigation to start …", console=err_console) as status:
        view = ProgressView(status)
        try:
            for event in client.stream_events(session.id, since_id=since_id, until_idle=True):
                if show:
                    view(event)
        except TracehoundAPIError as exc:
            if exc.status not in (404, 405, 501):
                raise
            # not a tracehound server: only the four Traversal endpoints; poll
        return client.wait(session.id, timeout=timeout)


def _last_event_id(client: Client, session_id: str) -> int:
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


def _print_answer(session: Session, as_json: bool) -> None:
    if as_json:
        _print_json(session.raw)
    else:
        console.print(Markdown(session.answer or "(no answer)"))
        err_console.print(f"\nsession {session.id} is [bold]{session.status}[/bold]", highlight=False)
    if session.status == "failed":
        raise typer.Exit(1)


# --- investigate -----------------------------------------------------------------------------------------------


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise _fail(f"--time: '{value}' is not an ISO-8601 time (e.g. 2024-03-15T14:30:00Z)", 2) from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def investigate(
    text: Annotated[str, typer.Argument(help="What is wrong, in plain words (e.g. 'checkout returns 500s').")],
    time: Annotated[
        str | None, typer.Option("--time", help="When it started or was noticed, ISO-8601 (UTC without an offset).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="A title (default: the first sentence of the text).")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag for the session (repeatable).")] = None,
    wait: WaitOpt = True,
    timeout: Timeout = 900.0,
    as_json: AsJson = False,
    url: Url = None,
    key: Key = None,
    local: Annotated[
        bool, typer.Option("--local", help="Run the investigation in this process: no server, no database.")
    ] = False,
    source: Annotated[str, typer.Option(help="--local: the data source kind, simulator or files.")] = "simulator",
    source_config: Annotated[
        str | None,
        typer.Option(help="--local: the source's JSON config (default for simulator: a demo fault in payment)."),
    ] = None,
    dataset: Annotated[
        Path | None, typer.Option(help="--local: a folder of telemetry files (implies --source files).")
    ] = None,
    layout: Annotated[str, typer.Option(help="--local --dataset: the folder layout, generic or nezha.")] = "generic",
    case: Annotated[str | None, typer.Option(help="--local --dataset: the case to investigate.")] = None,
) -> None:
    """Investigate an incident and print the root-cause report.

    Against a server (the default), the session is created (retrying while the organisation is at its limit),
    its progress is shown live from the event stream, and the Markdown answer is printed. With --no-wait only
    the new session is printed. With --local the engine runs here on the simulator or a --dataset folder.
    """
    incident_time = _parse_time(time)
    if local or dataset is not None:
        _investigate_local(
            text,
            incident_time=incident_time,
            title=title,
            source=source,
            source_config=source_config,
            dataset=dataset,
            layout=layout,
            case=case,
            as_json=as_json,
        )
        return
    with connect(url, key) as client:
        session = client.create(text, time=incident_time, title=title, tags=tag, retry=True, retry_timeout=timeout)
        if not wait:
            if as_json:
                _print_json(session.raw)
            else:
                console.print(session.id, highlight=False)
                err_console.print(f"session {session.id} is {session.status}: {session.title}", highlight=False)
            return
        if not as_json:
            err_console.print(f"session {session.id}: {session.title}", highlight=False)
        done = follow(client, session, since_id=0, timeout=timeout, show=not as_json)
    _print_answer(done, as_json)


def _investigate_local(
    text: str,
    *,
    incident_time: datetime | None,
    title: str | None,
    source: str,
    source_config: str | None,
    dataset: Path | None,
    layout: str,
    case: str | None,
    as_json: bool,
) -> None:
    from tracehound.connectors.registry import SOURCE_KINDS, build_sources
    from tracehound.engine.investigate import investigate as run_engine
    from tracehound.engine.types import Incident, ProgressEvent

    config: dict[str, Any]
    if dataset is not None:
        source = "files"
        config = {"path": str(dataset), "layout": layout, **({"case": case} if case else {})}
    elif source_config is not None:
        try:
            loaded = json.loads(source_config)
        except ValueError as exc:
            raise _fail(f"--source-config: not JSON: {exc}", 2) from exc
        if not isinstance(loaded, dict):
            raise _fail("--source-config: must be a JSON object", 2)
        config = loaded
    elif source == "simulator":
        config = dict(DEMO_SIMULATOR)
    else:
        raise _fail(f"--source {source} needs --source-config or --dataset", 2)
    if source not in SOURCE_KINDS:
        raise _fail(f"--source: choose one of {', '.join(SOURCE_KINDS)}", 2)
    now = datetime.now(UTC)
    incident = Incident(text=text, created_at=now, time=incident_time, title=title)
    try:
        sources = build_sources([(source, config)], anchor=incident_time or now)
    except ValueError as exc:
        raise _fail(str(exc), 2) from exc

    with Status("investigating …", console=err_console) as status:
        view = ProgressView(status)

        def progress(ev: ProgressEvent) -> None:
            if not as_json:
                view(Event(0, ev.kind, None, "", 0, {"step": ev.step, "detail": ev.detail, **ev.data}))

        report = asyncio.run(run_engine(incident, sources, progress=progress))
    if as_json:
        _print_json(report.to_dict())
    else:
        console.print(Markdown(report.to_markdown()))


# --- sessions --------------------------------------------------------------------------------------------------


def _table(rows: list[Session]) -> Table:
    table = Table("id", "status", "created", "title", "tags")
    for s in rows:
        table.add_row(s.id, s.status, s.created_at or "", s.title or "", ", ".join(s.tags))
    return table


@sessions_app.command("list")
def list_cmd(
    page: Annotated[int | None, typer.Option(help="This page only (with --limit per page).")] = None,
    limit: Annotated[int, typer.Option(help="Sessions per page; with --all, the page size used to fetch.")] = 20,
    all_pages: Annotated[bool, typer.Option("--all", help="Every session, fetched page by page.")] = False,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Only sessions with this tag (repeatable).")] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Only sessions in this status (repeatable).")
    ] = None,
    as_json: AsJson = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """List sessions, newest first (needs an admin key). Without --all, one page (the first unless --page)."""
    with connect(url, key) as client:
        if all_pages:
            rows = list(client.list_sessions(page_size=limit, tags=tag, statuses=status))
            total: int | None = len(rows)
        else:
            result = client.list_page(page or 1, limit, tags=tag, statuses=status)
            rows, total = result.sessions, result.total
    if as_json:
        _print_json({"sessions": [s.raw for s in rows], "count": len(rows), "total": total})
        return
    console.print(_table(rows))
    err_console.print(f"{len(rows)} of {total if total is not None else '?'} sessions", highlight=False)


@sessions_app.command("show")
def show_cmd(
    session_id: Annotated[str, typer.Argument(help="The session id.")],
    events: Annotated[bool, typer.Option("--events", help="Also print the session's event log.")] = False,
    as_json: AsJson = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Show a session: its status, the conversation and the latest answer."""
    with connect(url, key) as client:
        session = client.get(session_id)
        log: list[Event] = []
        if events:
            since = 0
            while True:
                page = client.list_events(session_id, since_id=since, limit=1000)
                log += page.data
                if not page.data:
                    break
                since = page.next_since_id
    if as_json:
        out = dict(session.raw)
        if events:
            out["events"] = [e.raw for e in log]
        _print_json(out)
        return
    console.print(f"[bold]{session.title}[/bold]  ({session.status})", highlight=False)
    console.print(f"id {session.id} · created {session.created_at} · tags {', '.join(session.tags) or '-'}")
    for m in session.messages or []:
        console.rule(f"{m.role} · {m.created_at}")
        console.print(Markdown(m.markdown_content))
    if events:
        console.rule("events")
        for e in log:
            console.print(f"{e.id:>4} {e.ts} {e.type:<18} {e.data.get('detail') or e.data}", highlight=False)


@sessions_app.command("ask")
def ask_cmd(
    session_id: Annotated[str, typer.Argument(help="The session id.")],
    question: Annotated[str, typer.Argument(help="The follow-up question.")],
    wait: WaitOpt = True,
    timeout: Timeout = 900.0,
    as_json: AsJson = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Ask a follow-up question about an investigation and print the answer. While the session is busy the
    question is retried (after the server's Retry-After)."""
    with connect(url, key) as client:
        since = _last_event_id(client, session_id)
        session = client.follow_up(session_id, question, retry=True, retry_timeout=timeout)
        if not wait:
            if as_json:
                _print_json(session.raw)
            else:
                console.print(f"{session.id} is {session.status}", highlight=False)
            return
        done = follow(client, session, since_id=since, timeout=timeout, show=not as_json)
    _print_answer(done, as_json)


@sessions_app.command("cancel")
def cancel_cmd(
    session_id: Annotated[str, typer.Argument(help="The session id.")],
    as_json: AsJson = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Stop a running investigation or follow-up (tracehound servers only)."""
    with connect(url, key) as client:
        session = client.cancel(session_id)
    if as_json:
        _print_json(session.raw)
    else:
        cancelled = bool(session.raw.get("cancelled"))
        console.print(f"{session.id}: {'cancelled' if cancelled else 'nothing was running'} ({session.status})")


def _help(doc: str | None) -> str:
    """A docstring as help text: paragraphs kept, the source's line breaks not."""
    return "\n\n".join(" ".join(p.split()) for p in (doc or "").strip().split("\n\n"))


def register(app: typer.Typer) -> None:
    """Add ``investigate`` and the ``sessions`` group to the main CLI."""
    app.command("investigate", help=_help(investigate.__doc__), epilog=CONNECTION_HELP, no_args_is_help=True)(
        investigate
    )
    for command in sessions_app.registered_commands:
        command.help = _help(command.callback.__doc__ if command.callback else None)
        command.epilog = CONNECTION_HELP
    app.add_typer(sessions_app, name="sessions", epilog=CONNECTION_HELP)
