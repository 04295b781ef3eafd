"""``tracehound bench DIR``: accuracy of the investigation engine on a labelled dataset, beside a z-score baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tracehound.evals import bench as ev

bench_app = typer.Typer(
    help="Benchmark the investigation engine on a labelled dataset.",
    context_settings={"allow_interspersed_args": True},
)


@bench_app.callback(invoke_without_command=True)
def bench(
    directory: Annotated[Path, typer.Argument(help="Dataset folder: the Nezha layout or the generic layout.")],
    layout: Annotated[
        str, typer.Option(help="Layout of DIR: auto (default), nezha or generic.", show_default=False)
    ] = "auto",
    case: Annotated[
        list[str] | None, typer.Option("--case", help="Only cases whose id contains this text (repeatable).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object with every case and the summary.")
    ] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the summary as a Markdown table.")] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Cases run side by side in this many worker processes (default: the usable cores, at most 4; "
            "1 runs them one after another in this process). Results are the same either way.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run every labelled case through the engine (the same `investigate` the API uses) and score it."""
    out, err = Console(), Console(stderr=True)
    if not directory.is_dir():
        err.print(f"[red]error:[/red] {directory} is not a directory")
        raise typer.Exit(2)
    if layout not in ("auto", "nezha", "generic"):
        err.print("[red]error:[/red] --layout must be auto, nezha or generic")
        raise typer.Exit(2)
    chosen: Literal["nezha", "generic"] = ev.detect_layout(directory) if layout == "auto" else layout  # type: ignore[assignment]
    cases = ev.load_cases(directory, chosen, limit_to=case or ())
    if not cases:
        err.print(f"[red]error:[/red] no labelled cases found in {directory} ({chosen} layout)")
        raise typer.Exit(1)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=as_json,
    ) as progress:
        task = progress.add_task("investigating", total=len(cases))

        def on_case(r: ev.CaseResult) -> None:
            progress.advance(task)
            if not as_json:
                hit = "[green]ok[/green]" if r.ranking[:1] == [r.truth] else "[red]miss[/red]"
                progress.console.print(
                    f"{r.case_id}  {r.fault_type:<15} truth={r.truth}  top3={', '.join(r.ranking[:3])}  "
                    f"z-score top={r.baseline_ranking[0] if r.baseline_ranking else '-'}  {hit}  {r.seconds:.1f}s"
                    + (f"  [red]{r.error}[/red]" if r.error else "")
                )

        result = ev.run(cases, on_case=on_case, jobs=jobs or ev.default_jobs())
    if as_json:
        typer.echo(orjson.dumps(result.to_dict()).decode())
        return
    if markdown:
        typer.echo(ev.markdown_table(result))
    else:
        out.print(_table(result))
    out.print(
        f"{len(result.cases)} cases in {result.seconds:.1f} s on {result.processes} process(es), "
        f"peak memory (max RSS, summed over processes) {result.peak_rss_mb:.0f} MB",
        soft_wrap=True,
    )


def _table(result: ev.BenchResult) -> Table:
    table = Table(title="Root-cause accuracy: engine vs z-score baseline")
    for col in ("system", "faults", "cases", "AC@1", "AC@3", "AC@5", "Avg@5", "z AC@1", "z AC@3", "z AC@5", "z Avg@5"):
        table.add_column(col, justify="left" if col in ("system", "faults") else "right")
    for g in ev.summary(result)["groups"]:
        e, b = g["engine"], g["baseline"]
        keys = ("AC@1", "AC@3", "AC@5", "Avg@5")
        table.add_row(
            g["system"],
            g["group"],
            str(g["cases"]),
            *(f"{e[k]:.2f}" for k in keys),
            *(f"{b[k]:.2f}" for k in keys),
            style="bold" if g["group"] == "all" else None,
        )
    return table
