"""A real Prometheus, backfilled with the simulator's metrics (an injected payment error fault), read by real
investigations through the API; an unreachable Prometheus; and Prometheus scraping tracehound's own /metrics."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support import prom
from tests.support.polling import wait_status
from tests.support.servers import Proc, free_port, process_env, server
from tests.support.tenants import Tenant, make_tenant
from tracehound.connectors.simulator import EDGES

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]

# the service mesh's view (Istio's histogram, both reporters): a network delay into one service, an hour earlier
# than the payment error fault, with nothing else showing it
MESH_DELAY_INTO = "inventory"
MESH_DELAY_AGO = timedelta(minutes=70)


@dataclass
class Stack:
    api: Proc
    prom: prom.Daemon
    db_url: str
    fault_start: datetime
    tmp: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("prom-stack")
    prom.binary("prometheus")
    now = datetime.now(UTC).replace(microsecond=0)
    fault_start = now - timedelta(minutes=20)
    fault = {"service": "payment", "type": "errors", "start": fault_start.isoformat(), "duration_minutes": 120}
    text, _n = prom.openmetrics(7, fault, now - timedelta(hours=2), now, instrumented=True)
    mesh = prom.mesh_openmetrics(
        EDGES, now - timedelta(hours=2), now, delay_into=MESH_DELAY_INTO, delay_from=now - MESH_DELAY_AGO, delay_ms=80
    )
    prom.backfill(text.removesuffix("# EOF\n") + mesh + "# EOF\n", tmp / "tsdb")
    db_url = f"sqlite:///{tmp / 'tracehound.db'}"
    api = server(db_url, tmp).start()
    daemon = prom.prometheus(tmp, scrape=[("tracehound", f"127.0.0.1:{api.port}")])
    try:
        daemon.start()
        yield Stack(api, daemon, db_url, fault_start, tmp)
    finally:
        daemon.stop()
        api.stop()


def _connector(stack: Stack, tenant: Tenant, config: dict[str, object]) -> None:
    body = {"name": "prom", "kind": "prometheus", "config": config}
    r = httpx.post(f"{stack.api.base_url}/v1/connectors", json=body, headers=tenant.headers(), timeout=10)
    assert r.status_code == 201, r.text


def test_investigation_finds_the_injected_fault_from_promql(stack: Stack) -> None:
    tenant = make_tenant(stack.db_url, sim=None)
    config = {
        "url": stack.prom.url,
        "label_filters": {"job": "shop"},
        "call_graph": [list(e) for e in EDGES],
        "auth_header_value": "Bearer not-checked-by-this-prometheus",
    }
    _connector(stack, tenant, config)
    check = httpx.post(f"{stack.api.base_url}/v1/connectors/prom/check", headers=tenant.headers(), timeout=20)
    assert check.status_code == 200 and check.json()["ok"] is True, check.text
    assert "payment" in check.json()["services"]
    body = {"input": "Checkout requests are failing with 500s", "time": prom.iso(stack.fault_start)}
    r = httpx.post(f"{stack.api.base_url}/v1/sessions", json=body, headers=tenant.headers(), timeout=10)
    assert r.status_code == 201, r.text
    done = wait_status(stack.api.base_url, tenant.headers(), r.json()["id"], timeout=90)
    assert done["status"] == "idle"
    report = done["report"]
    assert report["root_cause"] == "payment", report["summary"]
    assert "metrics:prometheus" in report["sources_used"]
    assert not report["source_failures"]
    assert done["usage"]["data_points"] > 1000


def test_counters_and_histograms_are_read_with_rate_and_histogram_quantile(stack: Stack) -> None:
    """Only what an instrumented service exports (counters, a latency histogram): the fault is found from
    ``rate()`` and ``histogram_quantile()`` answers, and the evidence cites that PromQL."""
    tenant = make_tenant(stack.db_url, sim=None)
    metrics = ["shop_http_requests_total", "shop_http_errors_total", "shop_http_request_duration_seconds_bucket"]
    _connector(stack, tenant, {"url": stack.prom.url, "metrics": metrics, "call_graph": [list(e) for e in EDGES]})
    body = {"input": "Checkout requests are failing with 500s", "time": prom.iso(stack.fault_start)}
    r = httpx.post(f"{stack.api.base_url}/v1/sessions", json=body, headers=tenant.headers(), timeout=10)
    done = wait_status(stack.api.base_url, tenant.headers(), r.json()["id"], timeout=90)
    assert done["status"] == "idle"
    report = done["report"]
    assert report["root_cause"] == "payment", report["summary"]
    assert not report["source_failures"]
    cited = json.dumps(report["evidence"])
    assert "rate(shop_http_errors_total{" in cited, cited[:2000]


def test_service_mesh_edge_latency_finds_a_network_delay_without_traces(stack: Stack) -> None:
    """Istio's request-duration histogram, reported by the caller's and the callee's proxy: the delay into one
    service shows only as the difference between the two, and the investigation names that service and cites both
    PromQL answers."""
    tenant = make_tenant(stack.db_url, sim=None)
    edges = {"rate_window": "1m"}  # Istio's defaults otherwise
    config = {"url": stack.prom.url, "metrics": ["shop_cpu_usage", "shop_latency_p50_ms"], "edge_latency": edges}
    _connector(stack, tenant, config)
    start = stack.fault_start + timedelta(minutes=20) - MESH_DELAY_AGO
    body = {"input": "Checkout is slow", "time": prom.iso(start)}
    r = httpx.post(f"{stack.api.base_url}/v1/sessions", json=body, headers=tenant.headers(), timeout=10)
    done = wait_status(stack.api.base_url, tenant.headers(), r.json()["id"], timeout=90)
    assert done["status"] == "idle"
    report = done["report"]
    assert not report["source_failures"]
    assert report["root_cause"] == MESH_DELAY_INTO, json.dumps(report, indent=1)[:6000]
    cited = [e for e in report["evidence"] if e["citation"].get("edge") == f"checkout->{MESH_DELAY_INTO}"]
    assert cited, report["evidence"]
    assert cited[0]["citation"]["incident"] - cited[0]["citation"]["baseline"] > 40  # ms on the wire
    assert all("histogram_quantile(0.5" in q and "[1m]" in q for q in cited[0]["citation"]["query"])


def test_unreachable_prometheus_still_ends_idle_and_names_the_failure(stack: Stack) -> None:
    tenant = make_tenant(stack.db_url, sim=None)
    dead = f"http://127.0.0.1:{free_port()}"
    _connector(stack, tenant, {"url": dead, "timeout_seconds": 2})
    check = httpx.post(f"{stack.api.base_url}/v1/connectors/prom/check", headers=tenant.headers(), timeout=20)
    assert check.json()["ok"] is False and dead in check.json()["error"]
    body = {"input": "Checkout requests are failing", "time": prom.iso(stack.fault_start)}
    r = httpx.post(f"{stack.api.base_url}/v1/sessions", json=body, headers=tenant.headers(), timeout=10)
    done = wait_status(stack.api.base_url, tenant.headers(), r.json()["id"], timeout=60)
    assert done["status"] == "idle"
    report = done["report"]
    failures = report["source_failures"]
    assert failures and failures[0]["source"] == "metrics:prometheus", failures
    assert dead in failures[0]["error"] and "unreachable" in failures[0]["error"]
    assert report["confidence"] == "Low"
    assert report["root_cause"] is None
    answer = done["messages"][-1]["markdown_content"]
    assert "metrics:prometheus" in answer and dead in answer


def test_failing_prometheus_next_to_other_sources_lowers_the_confidence(stack: Stack) -> None:
    """Metrics from a dead Prometheus ("prom" sorts first, so it is the metrics source), logs, traces and deploys
    from the simulator: the investigation still ends idle, names the failed source and says why it is less sure."""
    tenant = make_tenant(stack.db_url)  # with the simulator ("sim")
    dead = f"http://127.0.0.1:{free_port()}"
    _connector(stack, tenant, {"url": dead, "timeout_seconds": 2})
    body = {"input": "Checkout requests are failing", "time": prom.iso(stack.fault_start)}
    r = httpx.post(f"{stack.api.base_url}/v1/sessions", json=body, headers=tenant.headers(), timeout=10)
    done = wait_status(stack.api.base_url, tenant.headers(), r.json()["id"], timeout=60)
    assert done["status"] == "idle"
    report = done["report"]
    assert [f["source"] for f in report["source_failures"]] == ["metrics:prometheus"]
    assert "source(s) failed: metrics:prometheus" in report["confidence_reason"]
    assert report["confidence"] != "High"
    assert {"logs:simulator", "traces:simulator"} <= set(report["sources_used"])


def test_prometheus_scrapes_tracehound_metrics(stack: Stack) -> None:
    deadline = time.monotonic() + 30
    last: object = None
    while time.monotonic() < deadline:
        r = httpx.get(f"{stack.prom.url}/api/v1/query", params={"query": 'up{job="tracehound"}'}, timeout=5)
        result = r.json()["data"]["result"]
        last = result
        if result and result[0]["value"][1] == "1":
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"Prometheus never scraped tracehound: {last}\n{stack.prom.log_tail()}")
    r = httpx.get(f"{stack.prom.url}/api/v1/label/__name__/values", params={"match[]": '{job="tracehound"}'}, timeout=5)
    names = r.json()["data"]
    assert {"tracehound_http_requests_total", "tracehound_sessions", "tracehound_queue_depth"} <= set(names), names
    # a rejected alert notification shows up in the same Prometheus (what an operator would alert on)
    bad = httpx.post(f"{stack.api.base_url}/v1/alerts/alertmanager", content=b"{}", timeout=10)
    assert bad.status_code == 401
    query = 'tracehound_alert_notifications_total{job="tracehound", source="alertmanager", outcome="rejected"}'

    def rejected() -> float:
        got = httpx.get(f"{stack.prom.url}/api/v1/query", params={"query": query}, timeout=5).json()["data"]["result"]
        return float(got[0]["value"][1]) if got else 0.0

    deadline = time.monotonic() + 30
    while rejected() < 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert rejected() >= 1


def _cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = process_env(stack.db_url, stack.tmp, COLUMNS="240", NO_COLOR="1", TERM="dumb")
    done = subprocess.run(
        [sys.executable, "-m", "tracehound", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_cli_connects_and_checks_prometheus_without_printing_secrets(stack: Stack) -> None:
    tenant = make_tenant(stack.db_url, sim=None)
    password = "cli-basic-password-not-printed"
    config = stack.tmp / f"{tenant.org}.json"
    config.write_text(
        json.dumps(
            {
                "url": stack.prom.url,
                "label_filters": {"job": "shop"},
                "basic_auth_username": "r",
                "basic_auth_password": password,
            }
        )
    )
    added = _cli(
        stack,
        "source",
        "add",
        "--org",
        tenant.org,
        "--name",
        "prom",
        "--kind",
        "prometheus",
        "--config-file",
        str(config),
    )
    assert added.returncode == 0, added.stderr
    listed = _cli(stack, "source", "list", "--org", tenant.org)
    shown = _cli(stack, "source", "show", "--org", tenant.org, "--name", "prom")
    assert listed.returncode == 0 and "basic_auth_password" in listed.stdout
    assert json.loads(shown.stdout)["secrets_set"] == ["basic_auth_password"]
    checked = _cli(stack, "source", "check", "--org", tenant.org, "--name", "prom")
    assert checked.returncode == 0, checked.stderr
    assert "payment" in checked.stdout and "12 services" in checked.stdout, checked.stdout
    for out in (added, listed, shown, checked):
        assert password not in out.stdout + out.stderr
    # through the API the connector is the same one, still without its password
    got = httpx.get(f"{stack.api.base_url}/v1/connectors/prom", headers=tenant.headers(), timeout=10)
    assert got.json()["config"]["url"] == stack.prom.url and password not in got.text
    dead = f"http://127.0.0.1:{free_port()}"
    _cli(
        stack,
        "source",
        "add",
        "--org",
        tenant.org,
        "--name",
        "dead",
        "--kind",
        "prometheus",
        "--config",
        json.dumps({"url": dead}),
    )
    failed = _cli(stack, "source", "check", "--org", tenant.org, "--name", "dead", "--timeout", "5")
    assert failed.returncode == 1 and dead in failed.stderr and "unreachable" in failed.stderr
