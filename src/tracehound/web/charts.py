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

W, H = 480, 190
LEFT, RIGHT, TOP, BOTTOM = 46, 10, 14, 24
TICK_STEPS_MIN = (1, 2, 5, 10, 15, 20, 30, 60, 120, 240, 360, 720, 1440)


@dataclass(frozen=True, slots=True)
class ChartSeries:
    service: str
    name: str
    unit: str
    timestamps: tuple[float, ...]  # epoch seconds
    values: tuple[float, ...]


def fmt_value(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    for limit, divisor, suffix in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if magnitude >= limit:
            return f"{value / divisor:.3g}{suffix}"
    return f"{value:.3g}"


def value_ticks(lo: float, hi: float, most: int = 5) -> list[float]:
    """Round values (1, 2, 2.5 or 5 times a power of ten apart) inside [lo, hi]."""
    raw = (hi - lo) / max(most - 1, 1)
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    step = next((m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw), 10 * power)
    first = math.ceil(lo / step) * step
    ticks = [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]
    return [0.0 if abs(t) < step * 1e-9 else float(f"{t:.12g}") for t in ticks]


def _hhmm(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M")


def time_ticks(t0: float, t1: float, most: int = 5) -> list[float]:
    """Round times (every 1, 2, 5, 10, 15 ... minutes) inside [t0, t1], at most ``most`` of them."""
    span_min = max((t1 - t0) / 60, 1e-9)
    step = next((s for s in TICK_STEPS_MIN if span_min / s <= most), TICK_STEPS_MIN[-1]) * 60
    first = math.ceil(t0 / step) * step
    return [first + i * step for i in range(int((t1 - first) // step) + 1)]


@dataclass(frozen=True, slots=True)
class _Frame:
    t0: float
    t1: float
    lo: float
    hi: float

    def x(self, t: float) -> float:
        return LEFT + (t - self.t0) / ((self.t1 - self.t0) or 1) * (W - LEFT - RIGHT)

    def y(self, v: float) -> float:
        return TOP + (1 - (v - self.lo) / (self.hi - self.lo)) * (H - TOP - BOTTOM)


def _frame(points: Sequence[tuple[float, float]], baseline: float | None) -> _Frame:
    values = [v for _, v in points] + ([baseline] if baseline is not None else [])
    lo, hi = min(values), max(values)
    if hi == lo:
        hi, lo = hi + (abs(hi) or 1) * 0.1, lo - (abs(lo) or 1) * 0.1
    pad = (hi - lo) * 0.08
    return _Frame(points[0][0], points[-1][0], lo - pad, hi + pad)


def _axes(f: _Frame) -> list[str]:
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    parts = [f'<rect class="chart-bg" x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}"/>']
    for v in value_ticks(f.lo, f.hi):
        yy = f.y(v)
        parts.append(f'<line class="chart-grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{yy:.1f}" y2="{yy:.1f}"/>')
        parts.append(
            f'<text class="chart-label" x="{LEFT - 5}" y="{yy + 4:.1f}" text-anchor="end">{fmt_value(v)}</text>'
        )
    for t in time_ticks(f.t0, f.t1):
        xx = f.x(t)
        parts.append(
            f'<line class="chart-tick" x1="{xx:.1f}" x2="{xx:.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}"/>'
        )
        anchor = "end" if xx > W - RIGHT - 16 else "start" if xx < LEFT + 16 else "middle"  # never clipped
        parts.append(f'<text class="chart-label" x="{xx:.1f}" y="{H - 6}" text-anchor="{anchor}">{_hhmm(t)}</text>')
    return parts


def _anomaly(f: _Frame, start: float) -> tuple[list[str], list[str]]:
    """(the shaded part and its marker line, the marker's label): the label is drawn over the line."""
    if not f.t0 <= start <= f.t1:
        return [], []
    xa, plot_h, right = f.x(start), H - TOP - BOTTOM, W - RIGHT
    anchor, dx = ("end", -4) if xa > LEFT + (right - LEFT) * 0.6 else ("start", 4)
    shapes = [
        f'<rect class="chart-anomaly" x="{xa:.1f}" y="{TOP}" width="{right - xa:.1f}" height="{plot_h}"/>',
        f'<line class="chart-marker" x1="{xa:.1f}" x2="{xa:.1f}" y1="{TOP}" y2="{TOP + plot_h}"/>',
    ]
    label = (
        f'<text class="chart-marker-label" x="{xa + dx:.1f}" y="{TOP + 11}" text-anchor="{anchor}">'
        f"anomaly start {_hhmm(start)}</text>"
    )
    return shapes, [label]


def _baseline(f: _Frame, value: float | None) -> tuple[list[str], list[str]]:
    if value is None:
        return [], []
    yy = f.y(value)
    line = f'<line class="chart-baseline" x1="{LEFT}" x2="{W - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}"/>'
    above = yy - 5 if yy - 5 > TOP + 14 else yy + 13  # below the line when it runs along the top
    label = f'<text class="chart-baseline-label" x="{LEFT + 4}" y="{above:.1f}">baseline {fmt_value(value)}</text>'
    return [line], [label]


def series_svg(
    series: ChartSeries,
    *,
    anomaly_start: datetime | None,
    chart_id: str,
    baseline: float | None = None,
    view: tuple[float, float] | None = None,
) -> str:
    """A line chart of one series (within ``view``, epoch seconds, when given): the part after the anomaly start
    shaded and its start marked, the baseline median drawn dashed."""
    points = [
        (t, v)
        for t, v in zip(series.timestamps, series.values, strict=False)
        if math.isfinite(v) and (view is None or view[0] <= t <= view[1])
    ]
    title = f"{series.service} · {series.name}" + (f" ({series.unit})" if series.unit else "")
    head = (
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d">'
        f'<title id="{chart_id}-t">{escape(title)}</title>'
    )
    if len(points) < 2:
        return head + f'<text x="{W / 2}" y="{H / 2}" class="chart-empty">No data points</text></svg>'
    f = _frame(points, baseline)
    start = anomaly_start.timestamp() if anomaly_start is not None else None
    after = [v for t, v in points if start is not None and t >= start]
    desc = f"{len(points)} points from {_hhmm(f.t0)} to {_hhmm(f.t1)} UTC"
    if baseline is not None and after:
        desc += f"; baseline {fmt_value(baseline)}, after the anomaly start up to {fmt_value(max(after, key=abs))}"
    parts = [head, f'<desc id="{chart_id}-d">{escape(desc)}</desc>', *_axes(f)]
    shade, marker_label = _anomaly(f, start) if start is not None else ([], [])
    base_line, base_label = _baseline(f, baseline)
    line = " ".join(f"{f.x(t):.1f},{f.y(v):.1f}" for t, v in points)
    parts += [*shade, *base_line, f'<polyline class="chart-line" points="{line}"/>', *marker_label, *base_label]
    parts.append("</svg>")
    return "".join(parts)


# --- call graph -------------------------------------------------------------------------------------------------


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


def _barycenter(node: str, members: list[str], neighbours: dict[str, list[str]], index: dict[str, int]) -> float:
    near = [index[m] for m in neighbours.get(node, []) if m in index and m not in members]
    return sum(near) / len(near) if near else float(index[node])


def _order(columns: dict[int, list[str]], edges: Sequence[tuple[str, str]], sweeps: int = 4) -> None:
    """Reorder each column by the mean position of its neighbours (the barycenter heuristic), to cut crossings."""
    neighbours: dict[str, list[str]] = {}
    for a, b in edges:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    index = {n: i for col in columns.values() for i, n in enumerate(col)}
    for _ in range(sweeps):
        for col in sorted(columns):
            members = columns[col]
            keys = {n: (_barycenter(n, members, neighbours, index), n) for n in members}
            members.sort(key=keys.__getitem__)
            index.update({n: i for i, n in enumerate(members)})


@dataclass(frozen=True, slots=True)
class _Box:
    w: float = 124
    h: float = 30
    gap_x: float = 44
    gap_y: float = 14


def _positions(
    nodes: Sequence[str], edges: Sequence[tuple[str, str]], box: _Box
) -> tuple[dict[str, tuple[float, float]], float, float]:
    depth = _layers(nodes, edges)
    columns: dict[int, list[str]] = {}
    for n in nodes:
        columns.setdefault(depth[n], []).append(n)
    _order(columns, edges)
    n_cols = max(columns) + 1
    n_rows = max(len(c) for c in columns.values())
    width = n_cols * box.w + (n_cols - 1) * box.gap_x + 24
    height = n_rows * box.h + (n_rows - 1) * box.gap_y + 24
    pos: dict[str, tuple[float, float]] = {}
    for col, members in columns.items():
        offset = (height - (len(members) * box.h + (len(members) - 1) * box.gap_y)) / 2
        for i, n in enumerate(members):
            pos[n] = (12 + col * (box.w + box.gap_x), offset + i * (box.h + box.gap_y))
    return pos, width, height


def _edge(a: tuple[float, float], b: tuple[float, float], box: _Box, *, hot: bool) -> str:
    (xa, ya), (xb, yb) = a, b
    x1, y1, x2, y2 = xa + box.w, ya + box.h / 2, xb, yb + box.h / 2
    if xb <= xa:  # same column or backwards: route from the bottom
        x1, y1, x2, y2 = xa + box.w / 2, ya + box.h, xb + box.w / 2, yb
    mid = (x1 + x2) / 2
    cls, marker = ("graph-edge graph-edge-failing", "arrow-hot") if hot else ("graph-edge", "arrow")
    return (
        f'<path class="{cls}" d="M {x1:.1f} {y1:.1f} C {mid:.1f} {y1:.1f}, {mid:.1f} {y2:.1f}, '
        f'{x2:.1f} {y2:.1f}" marker-end="url(#{marker})"/>'
    )


def call_graph_svg(
    edges: Sequence[tuple[str, str]],
    *,
    root: str | None,
    candidates: Sequence[str] = (),
    failing_edges: Sequence[tuple[str, str]] = (),
) -> str:
    """The services and who calls whom, callers on the left; the suspected root cause in red, other candidates
    in amber, failing calls (from trace evidence) and calls into the root cause drawn in red."""
    nodes = sorted({n for e in edges for n in e} | ({root} if root else set()))
    if not nodes:
        return ""
    box = _Box()
    pos, width, height = _positions(nodes, edges, box)
    failing = set(failing_edges)
    parts = [
        f'<svg class="graph" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" role="img" '
        'aria-labelledby="callgraph-t">'
        '<title id="callgraph-t">Call graph' + (f"; suspected root cause: {escape(root)}" if root else "") + "</title>"
        "<defs>"
        '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
        'markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path class="graph-arrow" d="M 0 0 L 10 5 L 0 10 z"/>'
        "</marker>"
        '<marker id="arrow-hot" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="10" markerHeight="10" '
        'markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path class="graph-arrow-hot" d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>'
    ]
    ordered = sorted(edges, key=lambda e: e in failing or e[1] == root)  # highlighted edges drawn on top
    for a, b in ordered:
        hot = (a, b) in failing or b == root
        parts.append(_edge(pos[a], pos[b], box, hot=hot))
    others = set(candidates) - {root}
    for n in nodes:
        x, y = pos[n]
        cls = "graph-node graph-root" if n == root else "graph-node graph-candidate" if n in others else "graph-node"
        label = n if len(n) <= 17 else n[:16] + "…"
        parts.append(
            f'<g class="{cls}"><title>{escape(n)}{" (suspected root cause)" if n == root else ""}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{box.w}" height="{box.h}" rx="6"/>'
            f'<text x="{x + box.w / 2:.1f}" y="{y + box.h / 2 + 4:.1f}" text-anchor="middle">{escape(label)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
