"""The Prometheus connector against scripted HTTP answers (httpx.MockTransport): the PromQL it sends, how answers
become series, and how every kind of failure is named. The real-server tests are in tests/e2e/test_prometheus.py."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from tracehound.connectors.prometheus import PrometheusConfig, PrometheusError, PrometheusMetrics
from tracehound.connectors.prometheus.client import selector
from tracehound.connectors.prometheus.sources import edge_promql, promql, quantile_name, step_for
from tracehound.connectors.registry import is_secret_field
from tracehound.engine.types import TimeRange

T0 = datetime(2024, 3, 15, 14, 0, tzinfo=UTC)
WINDOW = TimeRange(T0, T0 + timedelta(hours=1))
Handler = Callable[[httpx.Request], httpx.Response]


def cfg(**over: Any) -> PrometheusConfig:
    return PrometheusConfig.model_validate({"url": "http://prom.test:9090", **over})


def ok(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"status": "success", "data": data})


def matrix(*series: tuple[dict[str, str], list[tuple[float, str]]]) -> httpx.Response:
    result = [{"metric": labels, "values": [[t, v] for t, v in values]} for labels, values in series]
    return ok({"resultType": "matrix", "result": result})


def source(handler: Handler, **over: Any) -> PrometheusMetrics:
    return PrometheusMetrics(cfg(**over), transport=httpx.MockTransport(handler))


def test_selector_and_promql() -> None:
    c = cfg(label_filters={"env": 'pr"od'})
    assert selector(c, "up") == 'up{service!="", env="pr\\"od"}'
    assert selector(c, "up", ["pay.ment", "cart"]) == 'up{service=~"cart|pay\\\\.ment", env="pr\\"od"}'
    assert promql(c, "errors_total") == 'rate(errors_total{service!="", env="pr\\"od"}[5m])'
    assert promql(c, "cpu_ratio") == 'cpu_ratio{service!="", env="pr\\"od"}'
    assert promql(cfg(), "rt_seconds_bucket") == (
        'histogram_quantile(0.95, sum by (le, service) (rate(rt_seconds_bucket{service!=""}[5m])))'
    )
    assert quantile_name("rt_seconds_bucket", 0.95) == "rt_seconds_p95"


def test_edge_latency_promql_and_config() -> None:
    c = cfg(label_filters={"mesh": "prod"}, edge_latency={})
    assert c.edge_latency is not None
    assert edge_promql(c, c.edge_latency, ["pay.ment"]) == (
        "histogram_quantile(0.5, sum by (le, source_workload, destination_workload, reporter) "
        '(rate(istio_request_duration_milliseconds_bucket{reporter=~"destination|source", source_workload!="", '
        'destination_workload=~"pay\\\\.ment", mesh="prod"}[5m])))'
    )
    linkerd = cfg(
        edge_latency={
            "metric": "response_latency_ms_bucket",
            "caller_label": "deployment",
            "callee_label": "dst_deployment",
            "reporter_label": "direction",
            "caller_side": "outbound",
            "callee_side": "inbound",
            "quantile": 0.9,
            "rate_window": "1m",
        }
    )
    assert linkerd.edge_latency is not None
    q = edge_promql(linkerd, linkerd.edge_latency)
    assert q.startswith("histogram_quantile(0.9, sum by (le, deployment, dst_deployment, direction) (rate(")
    assert 'direction=~"inbound|outbound"' in q and q.endswith("[1m])))")
    for bad in (
        {"metric": "istio_requests_total"},
        {"caller_label": "source-workload"},
        {"quantile": 1.5},
        {"rate_window": "soon"},
        {"unknown": 1},
    ):
        with pytest.raises(ValidationError):
            cfg(edge_latency=bad)


async def test_edge_latency_series_are_labelled_for_the_engine() -> None:
    """Each (caller, callee, reporter) answer becomes the callee's series labelled caller / reporter, in the
    histogram's unit; answers without a known reporter or a caller are left out."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/series"):
            return ok([])
        seen.append(request.url.params["query"])
        side = {"source_workload": "checkout", "destination_workload": "inventory"}
        return matrix(
            ({**side, "reporter": "source"}, [(1.0, "80"), (2.0, "NaN")]),
            ({**side, "reporter": "destination"}, [(1.0, "3")]),
            ({**side, "reporter": "proxy"}, [(1.0, "3")]),
            ({"destination_workload": "inventory", "reporter": "source"}, [(1.0, "3")]),
        )

    series = await source(handler, edge_latency={}).query(WINDOW)
    assert len(seen) == 1 and seen[0].startswith("histogram_quantile(0.5")
    got = sorted((s.service, s.labels, s.values, s.unit) for s in series)
    assert got == [
        ("inventory", (("caller", "checkout"), ("reporter", "destination")), (3.0,), "ms"),
        ("inventory", (("caller", "checkout"), ("reporter", "source")), (80.0,), "ms"),
    ]
    assert all(s.name == "istio_request_duration_milliseconds_p50" for s in series)


def test_step_keeps_under_prometheus_point_limit() -> None:
    assert step_for(WINDOW, cfg()) == 15
    assert step_for(TimeRange(T0, T0 + timedelta(days=30)), cfg(step_seconds=15)) >= 30 * 86400 / 11_000


async def test_query_turns_matrices_into_series_and_sends_auth() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/v1/series":
            assert request.url.params.get_list("match[]") == ['{service=~"payment"}']
            return ok(
                [
                    {"__name__": "shop_errors_total", "service": "payment", "instance": "i0"},
                    {"__name__": "shop_cpu", "service": "payment"},
                    *({"__name__": "shop_rt_bucket", "service": "payment", "le": le} for le in ("0.1", "1", "+Inf")),
                    {"__name__": "shop_x_created", "service": "payment"},
                ]
            )
        query = request.url.params["query"]
        if query.startswith("rate(shop_errors_total"):
            return matrix(
                ({"__name__": "x", "service": "payment", "instance": "i0"}, [(1.0, "0.5"), (2.0, "NaN"), (3.0, "1")]),
                ({"service": "cart"}, [(1.0, "0")]),
            )
        if query.startswith("histogram_quantile"):
            return matrix(({"service": "payment"}, [(1.0, "0.25")]))
        return matrix(({"service": "payment"}, [(1.0, "NaN")]))  # nothing finite: dropped

    src = source(handler, auth_header_value="Bearer sekret")
    series = await src.query(WINDOW, services=["payment"])
    by_name = {s.name: s for s in series}
    assert set(by_name) == {"shop_errors_total", "shop_rt_p95"}
    errors = by_name["shop_errors_total"]
    assert errors.service == "payment" and errors.values == (0.5, 1.0) and errors.timestamps == (1.0, 3.0)
    assert errors.unit == "per_second"
    assert errors.query == 'rate(shop_errors_total{instance="i0", service="payment"}[5m])'
    assert by_name["shop_rt_p95"].query.startswith("histogram_quantile(0.95")
    assert all(r.headers["Authorization"] == "Bearer sekret" for r in seen)
    queries = [r.url.params["query"] for r in seen if r.url.path == "/api/v1/query_range"]
    assert len(queries) == 3 and all('service=~"payment"' in q for q in queries)  # _created skipped
    assert [r.url.path for r in seen].count("/api/v1/series") == 1
    assert src.stats.queries == 1 and src.stats.requests == 3 and src.stats.series == 2


async def test_basic_auth_and_fixed_metric_list() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/v1/series":
            return ok([{"__name__": "up", "service": "cart"}])
        return matrix(({"service": "cart"}, [(1.0, "2")]))

    src = source(handler, basic_auth_username="reader", basic_auth_password="pw", metrics=["up", "down"])
    [s] = await src.query(WINDOW)
    assert s.name == "up" and s.service == "cart"
    assert [r.url.path for r in seen] == ["/api/v1/series", "/api/v1/query_range"]
    assert seen[0].url.params.get_list("match[]") == ['up{service!=""}', 'down{service!=""}']
    assert seen[0].headers["Authorization"] == "Basic " + base64.b64encode(b"reader:pw").decode()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            httpx.Response(400, json={"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}),
            "answered HTTP 400 on /api/v1/query_range for 'up{service!=\"\"}': parse error at char 3",
        ),
        (httpx.Response(502, text="<html>Bad   Gateway</html>"), "answered HTTP 502 on /api/v1/query_range"),
        (httpx.Response(200, json={"status": "success", "data": {"resultType": "vector"}}), "returned no matrix"),
    ],
)
async def test_erroring_prometheus_is_named(answer: httpx.Response, expected: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return ok([{"__name__": "up", "service": "a"}]) if request.url.path == "/api/v1/series" else answer

    src = source(handler, metrics=["up"])
    with pytest.raises(PrometheusError) as err:
        await src.query(WINDOW)
    assert "Prometheus at http://prom.test:9090" in str(err.value)
    assert expected in str(err.value)


async def test_unreachable_and_slow_prometheus_are_named() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(PrometheusError, match=r"http://prom.test:9090 is unreachable: ConnectError"):
        await source(refuse).services()
    with pytest.raises(PrometheusError, match=r"did not answer within 3s"):
        await source(slow, timeout_seconds=3).services()


async def test_too_many_series_fails_before_reading_data() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return ok([{"__name__": "up", "service": f"s{i}"} for i in range(5)])

    src = source(handler, max_series=4)
    with pytest.raises(PrometheusError, match="has 5 series for this investigation, more than max_series=4"):
        await src.query(WINDOW)
    assert seen == ["/api/v1/series"]


def test_config_rejects_credentials_in_the_url_and_mixed_auth() -> None:
    with pytest.raises(ValidationError, match="must not carry credentials"):
        cfg(url="http://user:pw@prom:9090")
    with pytest.raises(ValidationError, match="either auth_header_value or basic auth"):
        cfg(auth_header_value="Bearer x", basic_auth_username="u", basic_auth_password="p")
    assert cfg(url="http://prom:9090/prefix/").url == "http://prom:9090/prefix"


def test_secret_fields_are_declared() -> None:
    assert is_secret_field("prometheus", "auth_header_value") and is_secret_field("prometheus", "basic_auth_password")
    assert not is_secret_field("prometheus", "basic_auth_username") and not is_secret_field("prometheus", "url")
