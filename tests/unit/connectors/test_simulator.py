from datetime import UTC, datetime, timedelta

import pytest

from tracehound.connectors.registry import build_sources, validate_source_config
from tracehound.connectors.simulator import SimulatorConfig, build_simulator_sources
from tracehound.engine.types import TimeRange

ANCHOR = datetime(2024, 10, 25, 15, 0, tzinfo=UTC)
WINDOW = TimeRange(ANCHOR - timedelta(minutes=30), ANCHOR)
FAULT = {"service": "payment", "type": "errors", "start": None, "duration_minutes": 30}


async def test_data_is_a_pure_function_of_seed_config_and_time() -> None:
    a = build_simulator_sources(SimulatorConfig.model_validate({"fault": FAULT}), anchor=ANCHOR)
    b = build_simulator_sources(SimulatorConfig.model_validate({"fault": FAULT}), anchor=ANCHOR)
    assert a.metrics
    assert b.metrics
    assert a.logs
    assert b.logs
    assert a.traces
    assert b.traces
    assert await a.metrics.query(WINDOW) == await b.metrics.query(WINDOW)
    assert await a.logs.logs(WINDOW) == await b.logs.logs(WINDOW)
    assert await a.traces.spans(WINDOW) == await b.traces.spans(WINDOW)
    sub = TimeRange(WINDOW.start + timedelta(minutes=10), WINDOW.end)
    whole = next(s for s in await a.metrics.query(WINDOW) if s.name == "error_rate" and s.service == "payment")
    part = next(s for s in await a.metrics.query(sub) if s.name == "error_rate" and s.service == "payment")
    assert whole.values[-len(part.values) :] == part.values


async def test_fault_propagates_to_callers_less_than_culprit() -> None:
    src = build_simulator_sources(SimulatorConfig.model_validate({"fault": FAULT}), anchor=ANCHOR)
    assert src.metrics is not None
    late = TimeRange(ANCHOR - timedelta(minutes=5), ANCHOR)
    err = {s.service: max(s.values) for s in await src.metrics.query(late) if s.name == "error_rate"}
    assert err["payment"] > err["checkout"] > err["frontend"] > err["cart"]


async def test_volumes_are_bounded() -> None:
    src = build_simulator_sources(SimulatorConfig(), anchor=ANCHOR)
    assert src.logs
    assert src.traces
    hour = TimeRange(ANCHOR - timedelta(hours=1), ANCHOR)
    assert 500 < len(await src.logs.logs(hour)) < 5000
    traces = {s.trace_id for s in await src.traces.spans(TimeRange(ANCHOR - timedelta(minutes=10), ANCHOR))}
    assert 100 <= len(traces) <= 500


async def test_bad_deploy_leaves_a_deploy_event() -> None:
    fault = {**FAULT, "type": "bad_deploy"}
    src = build_simulator_sources(SimulatorConfig.model_validate({"fault": fault}), anchor=ANCHOR)
    assert src.changes is not None
    changes = await src.changes.changes(WINDOW)
    assert any(c.service == "payment" and c.kind == "deploy" and c.ts < ANCHOR - timedelta(minutes=10) for c in changes)


async def test_configured_failure_raises() -> None:
    src = build_simulator_sources(SimulatorConfig(fail=["logs"]), anchor=ANCHOR)
    assert src.logs is not None
    with pytest.raises(RuntimeError, match="logs source is configured to fail"):
        await src.logs.logs(WINDOW)


def test_validation_names_the_bad_field() -> None:
    with pytest.raises(ValueError, match=r"fault.service: unknown service 'nope'"):
        validate_source_config("simulator", {"fault": {"service": "nope", "type": "errors"}})
    with pytest.raises(ValueError, match="bogus"):
        validate_source_config("simulator", {"bogus": 1})
    with pytest.raises(ValueError, match="kind"):
        validate_source_config("no-such-kind", {})
    with pytest.raises(ValueError, match="database client"):
        validate_source_config("simulator", {"fault": {"service": "redis", "type": "db_pool"}})
    assert validate_source_config("simulator", {"seed": 3})["seed"] == 3


def test_build_sources_from_registry() -> None:
    sources = build_sources([("simulator", {"seed": 1})], anchor=ANCHOR)
    assert sources.metrics is not None
    assert sources.metrics.name == "simulator"
    assert ("checkout", "payment") in sources.call_graph


async def test_network_fault_delays_the_wire_into_the_service_not_the_service() -> None:
    """Callers wait ~250 ms more on calls into the service (their side of the mesh's edge latency, the time their
    spans spend outside the callee's span); the service's own view and its own spans stay as they were."""
    config = SimulatorConfig.model_validate({"fault": {"service": "inventory", "type": "network", "start": None}})
    src = build_simulator_sources(config, anchor=ANCHOR)
    assert src.metrics is not None and src.traces is not None
    fault_at = (ANCHOR - timedelta(minutes=10)).timestamp()
    edges = [s for s in await src.metrics.query(WINDOW) if s.name == "edge_latency_p50_ms"]
    into = {dict(s.labels)["reporter"]: s for s in edges if s.service == "inventory"}
    assert dict(into["source"].labels)["caller"] == "checkout"

    def mean(s: object, after: bool) -> float:
        vals = [v for t, v in zip(s.timestamps, s.values, strict=True) if (t >= fault_at + 60) == after]  # type: ignore[attr-defined]
        return sum(vals) / len(vals)

    assert mean(into["source"], True) - mean(into["source"], False) > 200
    assert abs(mean(into["destination"], True) - mean(into["destination"], False)) < 5
    pairs: dict[tuple[str, str], dict[str, object]] = {}
    for s in edges:
        pairs.setdefault((dict(s.labels)["caller"], s.service), {})[dict(s.labels)["reporter"]] = s
    # every other edge: callers upstream get slower (their callee waits on inventory) but the two ends agree
    others = [(p["source"], p["destination"]) for (_, callee), p in pairs.items() if callee != "inventory"]
    assert len(others) >= 10
    for a, b in others:
        assert abs((mean(a, True) - mean(b, True)) - (mean(a, False) - mean(b, False))) < 5
    spans = await src.traces.spans(WINDOW)
    by_id = {s.span_id: s for s in spans}
    late = [s for s in spans if s.service == "inventory" and s.start.timestamp() >= fault_at + 60]
    assert late
    for child in late[:20]:
        parent = by_id[child.parent_id or ""]
        start_gap = (child.start - parent.start).total_seconds() * 1000
        assert child.duration_ms < 100 and start_gap > 100  # the caller waited on the wire before the call began
