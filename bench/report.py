"""Result rows shared by every benchmark, and the printed table."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class Row:
    """One compared metric. ``ratio`` is tracehound / baseline; ``target`` says what passes."""

    bench: str
    case: str
    metric: str
    tracehound: float
    baseline: float
    target: str = ""
    met: bool | None = None
    ratio: float = field(init=False)

    def __post_init__(self) -> None:
        self.ratio = round(self.tracehound / self.baseline, 3) if self.baseline else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def table(rows: list[Row]) -> str:
    head = ("bench", "case", "metric", "tracehound", "baseline", "ratio", "target", "met")
    body = [
        (
            r.bench,
            r.case,
            r.metric,
            f"{r.tracehound:g}",
            f"{r.baseline:g}",
            f"{r.ratio:.2f}x",
            r.target,
            "" if r.met is None else ("yes" if r.met else "NO"),
        )
        for r in rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) for line in (head, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(rows: list[Row]) -> str:
    head = (
        "| bench | case | metric | tracehound | baseline | ratio | target | met |\n|---|---|---|---:|---:|---:|---|---|"
    )
    body = [
        f"| {r.bench} | {r.case} | {r.metric} | {r.tracehound:g} | {r.baseline:g} | {r.ratio:.2f}x | {r.target} | "
        f"{'' if r.met is None else ('yes' if r.met else '**no**')} |"
        for r in rows
    ]
    return "\n".join([head, *body])
