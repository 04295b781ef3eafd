"""The server-rendered SVG charts: escaping, the anomaly marker and baseline, round axis ticks, and a call graph
that marks the root cause and orders columns to avoid crossings."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from tracehound.web.charts import ChartSeries, call_graph_svg, fmt_value, series_svg, time_ticks, value_ticks

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2024, 3, 15, 10, 0, tzinfo=UTC).timestamp()


def _series(service: str = "pay<script>") -> ChartSeries:
    ts = tuple(T0 + 30 * i for i in range(120))
    return ChartSeries(service, "error_rate", "ratio", ts, tuple(0.01 if i < 80 else 0.4 for i in range(120)))


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def test_series_chart_marks_the_anomaly_start_and_the_baseline() -> None:
    start = datetime(2024, 3, 15, 10, 40, tzinfo=UTC)
    svg = series_svg(_series(), anomaly_start=start, chart_id="c1", baseline=0.01)
    root = _parse(svg)  # well-formed XML: nothing unescaped broke it
    assert "<script>" not in svg and "pay&lt;script&gt;" in svg
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "anomaly start 10:40" in labels
    assert "baseline 0.01" in labels
    assert {"10:00", "10:15", "10:30", "10:45"} <= set(labels)  # round times on the time axis
    assert root.find(f"{SVG}rect[@class='chart-anomaly']") is not None
    assert root.get("aria-labelledby") == "c1-t c1-d"


def test_series_chart_view_and_empty_series() -> None:
    view = (T0 + 1800, T0 + 3600)
    svg = series_svg(_series(), anomaly_start=None, chart_id="c2", view=view)
    assert "chart-anomaly" not in svg
    points = _parse(svg).find(f"{SVG}polyline")
    assert points is not None and len(points.get("points", "").split()) == 60  # only the points inside the view
    empty = series_svg(ChartSeries("a", "b", "", (T0,), (1.0,)), anomaly_start=None, chart_id="c3")
    assert "No data points" in empty


def test_ticks_are_round() -> None:
    assert time_ticks(T0, T0 + 3600) == [T0 + 900 * i for i in range(5)]
    assert value_ticks(0.0, 0.42) == [0.0, 0.2, 0.4]  # at most five ticks
    assert value_ticks(0.0, 0.4) == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert value_ticks(3.1e8, 3.2e8)[0] >= 3.1e8
    assert fmt_value(314_000_000) == "314M" and fmt_value(12_345) == "12.3k" and fmt_value(0.0123) == "0.0123"


def test_call_graph_marks_root_candidates_and_failing_calls() -> None:
    edges = [("frontend", "checkout"), ("checkout", "pay<x>"), ("checkout", "cart"), ("frontend", "search")]
    svg = call_graph_svg(edges, root="pay<x>", candidates=["checkout"], failing_edges=[("checkout", "pay<x>")])
    root = _parse(svg)
    classes = {g.get("class"): g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g")}  # type: ignore[union-attr]
    assert classes["graph-node graph-root"] == "pay<x> (suspected root cause)"
    assert classes["graph-node graph-candidate"] == "checkout"
    hot = [p for p in root.iter(f"{SVG}path") if "graph-edge-failing" in (p.get("class") or "")]
    assert len(hot) == 1


def test_call_graph_columns_follow_the_callers() -> None:
    edges = [("a", "x2"), ("b", "x1"), ("a", "b")]
    svg = call_graph_svg(edges, root=None)
    root = _parse(svg)
    x = {}
    for g in root.iter(f"{SVG}g"):
        rect, title = g.find(f"{SVG}rect"), g.find(f"{SVG}title")
        assert rect is not None and title is not None
        x[title.text] = (float(rect.get("x", 0)), float(rect.get("y", 0)))
    assert x["a"][0] < x["b"][0] < x["x1"][0]
    assert call_graph_svg([], root=None) == ""
