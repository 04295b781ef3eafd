"""Evidence charts as server-rendered inline SVG (no JavaScript, no chart library).

Every piece of text that reaches the SVG goes through :func:`html.escape`; the functions return complete ``<svg>``
strings that templates insert as they are. Styling is by CSS class (``static/app.css``), never inline ``style``
attributes, so the page's Content-Security-Policy can forbid inline styles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape


@dataclass(frozen=True, slots=True)
class ChartSeries:
    service: str
    name: str
    unit: str
    timestamps: tuple[float, ...]  # epoch seconds
    values: tuple[float, ...]


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e9:
        return f"{value / 1e9:.3g}G"
    if magnitude >= 1e6:
        return f"{value / 1e6:.3g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.3g}k"
    return f"{value:.3g}"


def _hhmm(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M")


def series_svg(series: ChartSeries, *, anomaly_start: datetime | None, chart_id: str) -> str:
    """A line chart of one series; the part after the anomaly start is shaded and the start is marked."""
    width, height = 640, 200
    left, right, top, bottom = 56, 12, 14, 28
    points = [(t, v) for t, v in zip(series.timestamps, series.values, strict=False) if math.isfinite(v)]
    title = f"{series.service} · {series.name}" + (f" ({series.unit})" if series.unit else "")
    head = (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{chart_id}-t">'
        f'<title id="{chart_id}-t">{escape(title)}</title>'
    )
    if len(points) < 2:
        return head + f'<text x="{width / 2}" y="{height / 2}" class="chart-empty">No data points</text></svg>'
    t0, t1 = points[0][0], points[-1][0]
    lo = min(v for _, v in points)
    hi = max(v for _, v in points)
    if hi == lo:
        hi, lo = hi + (abs(hi) or 1) * 0.1, lo - (abs(lo) or 1) * 0.1
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(t: float) -> float:
        return left + (t - t0) / ((t1 - t0) or 1) * plot_w

    def y(v: float) -> float:
        return top + (1 - (v - lo) / (hi - lo)) * plot_h

    parts = [head]
    parts.append(f'<rect class="chart-bg" x="{left}" y="{top}" width="{plot_w}" height="{plot_h}"/>')
    for i in range(5):  # horizontal grid + y labels
        v = lo + (hi - lo) * i / 4
        yy = y(v)
        parts.append(f'<line class="chart-grid" x1="{left}" x2="{left + plot_w}" y1="{yy:.1f}" y2="{yy:.1f}"/>')
        parts.append(f'<text class="chart-label" x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">{_fmt(v)}</text>')
    for i in range(6):  # time ticks
        t = t0 + (t1 - t0) * i / 5
        anchor = "start" if i == 0 else "end" if i == 5 else "middle"
        parts.append(
            f'<text class="chart-label" x="{x(t):.1f}" y="{height - 8}" text-anchor="{anchor}">{_hhmm(t)}</text>'
        )
    if anomaly_start is not None:
        a = anomaly_start.timestamp()
        if t0 <= a <= t1:
            xa = x(a)
            parts.append(
                f'<rect class="chart-anomaly" x="{xa:.1f}" y="{top}" '
                f'width="{left + plot_w - xa:.1f}" height="{plot_h}"/>'
            )
            parts.append(f'<line class="chart-marker" x1="{xa:.1f}" x2="{xa:.1f}" y1="{top}" y2="{top + plot_h}"/>')
            label_anchor = "end" if xa > left + plot_w * 0.7 else "start"
            dx = -4 if label_anchor == "end" else 4
            parts.append(
                f'<text class="chart-marker-label" x="{xa + dx:.1f}" y="{top + 12}" text-anchor="{label_anchor}">'
                f"anomaly start {_hhmm(a)}</text>"
            )
    path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
    parts.append(f'<polyline class="chart-line" points="{path}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _layers(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layering from the callers (bounded, so a cycle cannot loop forever)."""
    depth = dict.fromkeys(nodes, 0)
    for _ in range(len(nodes)):
        changed = False
        for a, b in edges:
            if depth[b] < depth[a] + 1 and depth[a] + 1 < len(nodes):
                depth[b] = depth[a] + 1
                changed = True
        if not changed:
            break
    return depth


def call_graph_svg(
    edges: Sequence[tuple[str, str]],
    *,
    root: str | None,
    candidates: Sequence[str] = (),
    failing_edges: Sequence[tuple[str, str]] = (),
) -> str:
    """The services and who calls whom, callers on the left; the suspected root cause in red, other candidates
    in amber, failing calls (from trace evidence) drawn thicker."""
    nodes = sorted({n for e in edges for n in e} | ({root} if root else set()))
    if not nodes:
        return ""
    depth = _layers(nodes, edges)
    columns: dict[int, list[str]] = {}
    for n in nodes:
        columns.setdefault(depth[n], []).append(n)
    n_cols = max(columns) + 1
    n_rows = max(len(c) for c in columns.values())
    box_w, box_h, gap_x, gap_y = 118, 30, 46, 14
    width = n_cols * box_w + (n_cols - 1) * gap_x + 24
    height = n_rows * box_h + (n_rows - 1) * gap_y + 24
    pos: dict[str, tuple[float, float]] = {}
    for col, members in columns.items():
        offset = (height - (len(members) * box_h + (len(members) - 1) * gap_y)) / 2
        for i, n in enumerate(members):
            pos[n] = (12 + col * (box_w + gap_x), offset + i * (box_h + gap_y))
    failing = set(failing_edges)
    parts = [
        f'<svg class="graph" viewBox="0 0 {width} {height}" role="img" aria-labelledby="callgraph-t">'
        '<title id="callgraph-t">Call graph' + (f"; suspected root cause: {escape(root)}" if root else "") + "</title>"
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path class="graph-arrow" d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>'
    ]
    for a, b in edges:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        x1, y1 = xa + box_w, ya + box_h / 2
        x2, y2 = xb, yb + box_h / 2
        if xb <= xa:  # same column or backwards: route from the bottom
            x1, y1, x2, y2 = xa + box_w / 2, ya + box_h, xb + box_w / 2, yb
        mid = (x1 + x2) / 2
        cls = "graph-edge graph-edge-failing" if (a, b) in failing else "graph-edge"
        parts.append(
            f'<path class="{cls}" d="M {x1:.1f} {y1:.1f} C {mid:.1f} {y1:.1f}, {mid:.1f} {y2:.1f}, '
            f'{x2:.1f} {y2:.1f}" marker-end="url(#arrow)"/>'
        )
    others = set(candidates) - {root}
    for n in nodes:
        x, y = pos[n]
        cls = "graph-node graph-root" if n == root else "graph-node graph-candidate" if n in others else "graph-node"
        label = n if len(n) <= 16 else n[:15] + "…"
        parts.append(
            f'<g class="{cls}"><title>{escape(n)}{" (suspected root cause)" if n == root else ""}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{box_w}" height="{box_h}" rx="6"/>'
            f'<text x="{x + box_w / 2:.1f}" y="{y + box_h / 2 + 4:.1f}" text-anchor="middle">{escape(label)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
