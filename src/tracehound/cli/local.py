"""``tracehound investigate --local``: the engine in this process, on the simulator or a dataset folder, without a
server or a database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.markdown import Markdown

from tracehound.cli.common import console
from tracehound.cli.remote import fail, print_json, progress_view
from tracehound.client import Event

DEMO_SIMULATOR = {"seed": 7, "fault": {"service": "payment", "type": "errors", "start": None, "duration_minutes": 60}}


def source_spec(
    source: str, source_config: str | None, dataset: Path | None, layout: str, case: str | None
) -> tuple[str, dict[str, Any]]:
    """The (kind, config) of the one data source a local run reads."""
    from tracehound.connectors.registry import SOURCE_KINDS

    if dataset is not None:
        if not dataset.is_dir():
            raise fail(f"--dataset: {dataset} is not a folder", 2)
        return "files", {"path": str(dataset.resolve()), "layout": layout, **({"case": case} if case else {})}
    if source not in SOURCE_KINDS:
        raise fail(f"--source: choose one of {', '.join(SOURCE_KINDS)}", 2)
    if source_config is None:
        if source != "simulator":
            raise fail(f"--source {source} needs --source-config or --dataset", 2)
        return source, dict(DEMO_SIMULATOR)
    try:
        loaded = json.loads(source_config)
    except ValueError as exc:
        raise fail(f"--source-config: not JSON: {exc}", 2) from exc
    if not isinstance(loaded, dict):
        raise fail("--source-config: must be a JSON object", 2)
    return source, loaded


def investigate_local(
    text: str, *, incident_time: datetime | None, title: str | None, spec: tuple[str, dict[str, Any]], as_json: bool
) -> None:
    from tracehound.connectors.registry import build_sources
    from tracehound.engine.investigate import investigate as run_engine
    from tracehound.engine.types import Incident, ProgressEvent

    now = datetime.now(UTC)
    incident = Incident(text=text, created_at=now, time=incident_time, title=title)
    try:
        sources = build_sources([spec], anchor=incident_time or now)
    except ValueError as exc:
        raise fail(str(exc), 2) from exc
    with progress_view(enabled=not as_json) as view:

        def progress(ev: ProgressEvent) -> None:
            if view is not None:
                view(Event(0, ev.kind, None, "", 0, {"step": ev.step, "detail": ev.detail, **ev.data}))

        report = asyncio.run(run_engine(incident, sources, progress=progress))
    if as_json:
        print_json(report.to_dict())
    else:
        console.print(Markdown(report.to_markdown()))
