"""``tracehound investigate`` and ``tracehound sessions``: the client side of the CLI. They talk to a tracehound
(or any Traversal-compatible) server through :mod:`tracehound.client`; ``investigate --local`` runs the engine in
this process instead, without a server or a database (:mod:`tracehound.cli.local`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from tracehound.cli.common import console, err_console
from tracehound.cli.local import investigate_local, source_spec
from tracehound.cli.remote import CONNECTION_HELP, connect, fail, follow, last_event_id, print_json
from tracehound.client import Client, Event, Session

sessions_app = typer.Typer(
    help="Read and continue investigations on a tracehound (or any Traversal-compatible) server: list them, show "
    "one with its conversation and event log, ask a follow-up, cancel a running turn.",
    no_args_is_help=True,
)

Url = Annotated[str | None, typer.Option("--url", help="Server URL (or TRACEHOUND_URL, or the config file).")]
Key = Annotated[str | None, typer.Option("--key", help="API key trv_ak_… (or TRACEHOUND_API_KEY, or config file).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the server's JSON on stdout instead of text.")]
WaitOpt = Annotated[
    bool, typer.Option("--wait/--no-wait", help="Follow the progress and print the answer (default), or return.")
]
Timeout = Annotated[float, typer.Option(help="Give up waiting after this many seconds.")]

EXAMPLES = {
    "investigate": [
        'tracehound investigate "checkout returns 500s since 14:30 UTC" --tag sev2',
        'tracehound investigate "payment latency is up" --time 2024-03-15T14:30:00Z --no-wait --json',
        'tracehound investigate --local "checkout errors"            # the built-in simulator, no server',
        'tracehound investigate --local --dataset ./case --time 2024-03-15T14:30:00Z "orders failing"',
    ],
    "list": ["tracehound sessions list", "tracehound sessions list --all --status idle --tag sev2 --json"],
    "show": ["tracehound sessions show SESSION_ID", "tracehound sessions show SESSION_ID --events --json"],
    "ask": [
        'tracehound sessions ask SESSION_ID "why not the database?"',
        'tracehound sessions ask ID "impact?" --json',
    ],
    "cancel": ["tracehound sessions cancel SESSION_ID"],
}


def _epilog(name: str) -> str:
    lines = "\n\n".join(f"  {line}" for line in EXAMPLES.get(name, []))
    return f"Examples:\n\n{lines}\n\n{CONNECTION_HELP}"


def _print_answer(session: Session, as_json: bool) -> None:
    if as_json:
        print_json(session.raw)
    else:
        console.print(Markdown(session.answer or "(no answer)"))
        err_console.print(Text(f"\nsession {session.id} is {session.status}"))
    if session.status == "failed":
        raise typer.Exit(1)


# --- investigate -----------------------------------------------------------------------------------------------


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise fail(f"--time: '{value}' is not an ISO-8601 time (e.g. 2024-03-15T14:30:00Z)", 2) from exc
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
        Path | None, typer.Option(help="--local: a folder of telemetry files (implies --local --source files).")
    ] = None,
    layout: Annotated[str, typer.Option(help="--dataset: the folder layout, generic or nezha.")] = "generic",
    case: Annotated[str | None, typer.Option(help="--dataset: the case to investigate.")] = None,
) -> None:
    """Investigate an incident and print the root-cause report.

    Against a server (the default) the session is created (retrying, under one idempotency key, while the
    organisation is at its concurrency limit), its progress is shown live from the session's event stream, and
    the Markdown report is printed when it is done. With --no-wait only the new session is printed. With --json
    stdout gets the finished session as JSON (progress is not shown).

    With --local (or --dataset) the engine runs in this process on the simulator or a folder of telemetry files,
    and prints the report (with --json: the structured report).
    """
    incident_time = _parse_time(time)
    if local or dataset is not None:
        spec = source_spec(source, source_config, dataset, layout, case)
        investigate_local(text, incident_time=incident_time, title=title, spec=spec, as_json=as_json)
        return
    _investigate_remote(text, incident_time, title, tag, wait=wait, timeout=timeout, as_json=as_json, url=url, key=key)


def _investigate_remote(
    text: str,
    incident_time: datetime | None,
    title: str | None,
    tags: list[str] | None,
    *,
    wait: bool,
    timeout: float,
    as_json: bool,
    url: str | None,
    key: str | None,
) -> None:
    with connect(url, key) as client:
        session = client.create(text, time=incident_time, title=title, tags=tags, retry=True, retry_timeout=timeout)
        if not wait:
            if as_json:
                print_json(session.raw)
            else:
                console.print(Text(session.id))
                err_console.print(Text(f"session {session.id} is {session.status}: {session.title}"))
            return
        if not as_json:
            err_console.print(Text(f"session {session.id}: {session.title}"))
        done = follow(client, session, since_id=0, timeout=timeout, show=not as_json)
    _print_answer(done, as_json)


# --- sessions --------------------------------------------------------------------------------------------------


def _table(rows: list[Session]) -> Table:
    table = Table("id", "status", "created", "title", "tags")
    for s in rows:
        table.add_row(*(Text(v) for v in (s.id, s.status, s.created_at or "", s.title or "", ", ".join(s.tags))))
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
    """List sessions, newest first (needs an admin key; sessions started in the web UI are not listed, as in
    Traversal's API). Without --all, one page: the first unless --page."""
    with connect(url, key) as client:
        if all_pages:
            rows = list(client.list_sessions(page_size=limit, tags=tag, statuses=status))
            total: int | None = len(rows)
        else:
            result = client.list_page(page or 1, limit, tags=tag, statuses=status)
            rows, total = result.sessions, result.total
    if as_json:
        print_json({"sessions": [s.raw for s in rows], "count": len(rows), "total": total})
        return
    console.print(_table(rows))
    err_console.print(Text(f"{len(rows)} of {total if total is not None else '?'} sessions"))


def _events(client: Client, session_id: str) -> list[Event]:
    log: list[Event] = []
    since = 0
    while True:
        page = client.list_events(session_id, since_id=since, limit=1000)
        log += page.data
        if not page.data:
            return log
        since = page.next_since_id


@sessions_app.command("show")
def show_cmd(
    session_id: Annotated[str, typer.Argument(help="The session id.")],
    events: Annotated[bool, typer.Option("--events", help="Also print the session's event log.")] = False,
    as_json: AsJson = False,
    url: Url = None,
    key: Key = None,
) -> None:
    """Show a session: its status, the conversation (every question and answer, as Markdown) and, with --events,
    its event log."""
    with connect(url, key) as client:
        session = client.get(session_id)
        log = _events(client, session.id) if events else []
    if as_json:
        print_json({**session.raw, **({"events": [e.raw for e in log]} if events else {})})
        return
    console.print(Text.assemble((session.title or "(untitled)", "bold"), f"  ({session.status})"))
    console.print(Text(f"id {session.id} · created {session.created_at} · tags {', '.join(session.tags) or '-'}"))
    for m in session.messages or []:
        console.rule(Text(f"{m.role} · {m.created_at}"))
        console.print(Markdown(m.markdown_content))
    if events:
        console.rule("events")
        for e in log:
            console.print(Text(f"{e.id:>4} {e.ts} {e.type:<18} {e.data.get('detail') or e.data}"))


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
    """Ask a follow-up question about an investigation and print the answer. While the session is busy (409) or
    the organisation is at its limit (429) the question is retried after the server's Retry-After; a failed
    session takes no follow-ups (exit code 1)."""
    with connect(url, key) as client:
        since = last_event_id(client, session_id)
        session = client.follow_up(session_id, question, retry=True, retry_timeout=timeout)
        if not wait:
            if as_json:
                print_json(session.raw)
            else:
                console.print(Text(f"{session.id} is {session.status}"))
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
    """Stop a running investigation or follow-up (tracehound servers only): the session becomes idle with an
    answer saying it was cancelled."""
    with connect(url, key) as client:
        session = client.cancel(session_id)
    if as_json:
        print_json(session.raw)
    else:
        cancelled = bool(session.raw.get("cancelled"))
        console.print(Text(f"{session.id}: {'cancelled' if cancelled else 'nothing was running'} ({session.status})"))


def _help(doc: str | None) -> str:
    """A docstring as help text: paragraphs kept, the source's line breaks not."""
    return "\n\n".join(" ".join(p.split()) for p in (doc or "").strip().split("\n\n"))


def register(app: typer.Typer) -> None:
    """Add ``investigate`` and the ``sessions`` group to the main CLI."""
    app.command("investigate", help=_help(investigate.__doc__), epilog=_epilog("investigate"), no_args_is_help=True)(
        investigate
    )
    for command in sessions_app.registered_commands:
        command.help = _help(command.callback.__doc__ if command.callback else None)
        command.epilog = _epilog(command.name or "")
    app.add_typer(sessions_app, name="sessions", epilog=CONNECTION_HELP)
