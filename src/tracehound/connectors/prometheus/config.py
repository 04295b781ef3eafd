"""Configuration of a Prometheus (or PromQL-compatible: VictoriaMetrics, Thanos, Mimir) data source."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_METRIC = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_HEADER = re.compile(r"^[A-Za-z0-9-]{1,64}$")

# Fields that hold credentials: stored with the data source, never returned by the API or the CLI.
SECRET_FIELDS = ("auth_header_value", "basic_auth_password")

MetricName = Annotated[str, Field(pattern=_METRIC.pattern, max_length=200)]


def _label_name(v: str) -> str:
    if not _LABEL.match(v):
        raise ValueError(f"{v!r} is not a valid Prometheus label name")
    return v


LabelName = Annotated[str, AfterValidator(_label_name)]


class EdgeLatencyConfig(BaseModel):
    """A per-edge latency histogram that both ends of a call report (a service mesh): read as a quantile per
    (caller, callee, reporter); the engine compares the caller's and the callee's view (``engine/rca/edges.py``).
    The defaults are Istio's standard metric and labels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: MetricName = Field(
        default="istio_request_duration_milliseconds_bucket", description="The histogram's *_bucket metric."
    )
    caller_label: LabelName = Field(default="source_workload", description="Label naming the calling service.")
    callee_label: LabelName = Field(default="destination_workload", description="Label naming the called service.")
    reporter_label: LabelName = Field(default="reporter", description="Label saying which end measured the call.")
    caller_side: str = Field(default="source", description="reporter value of the caller's measurement.")
    callee_side: str = Field(default="destination", description="reporter value of the callee's measurement.")
    quantile: float = Field(default=0.5, gt=0, lt=1, description="The quantile compared (the median by default).")
    rate_window: str | None = Field(
        default=None,
        pattern=r"^[0-9]+[smh]$",
        description="Range of rate() for this histogram (default: the source's rate_window). The engine scores the "
        "first minutes of an incident: a window of about 4 scrape intervals (1m for Istio's 15 s) shows a delay "
        "there, a 5m window only half of it.",
    )

    @field_validator("metric")
    @classmethod
    def _bucket(cls, v: str) -> str:
        if not v.endswith("_bucket"):
            raise ValueError(f"{v!r} must be a histogram's *_bucket metric")
        return v


class PrometheusConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="Base URL of the Prometheus HTTP API, e.g. http://prometheus:9090.")
    service_label: LabelName = Field(default="service", description="The label that names a service.")
    label_filters: dict[LabelName, str] = Field(
        default_factory=dict, description="Extra equality matchers added to every selector (e.g. env=prod)."
    )
    metrics: list[MetricName] | None = Field(
        default=None,
        max_length=500,
        description="Metric names to read; default: every metric that carries the service label.",
    )
    auth_header_name: str = Field(default="Authorization", description="Header that carries auth_header_value.")
    auth_header_value: str | None = Field(default=None, description="e.g. 'Bearer <token>' (secret).")
    basic_auth_username: str | None = None
    basic_auth_password: str | None = Field(default=None, description="(secret)")
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    step_seconds: float | None = Field(default=None, gt=0, le=3600, description="Default: window / 240, >= 15 s.")
    rate_window: str = Field(default="5m", pattern=r"^[0-9]+[smh]$", description="Range of rate() for counters.")
    max_series: int = Field(default=5000, ge=1, le=100_000)
    histogram_quantile: float | None = Field(
        default=0.95,
        gt=0,
        lt=1,
        description="Histograms (*_bucket) are read as this quantile per service (series <name>_p95); null: skip them.",
    )
    concurrency: int = Field(default=8, ge=1, le=64)
    call_graph: list[tuple[str, str]] = Field(
        default_factory=list, max_length=10_000, description="Static (caller, callee) service edges, if known."
    )
    edge_latency: EdgeLatencyConfig | None = Field(
        default=None,
        description="Per-edge latency reported by both ends of each call (a service mesh; {} = Istio's defaults): "
        "finds network delays between services when no trace was sampled; its edges join the call graph.",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError("must be an http:// or https:// URL")
        if "@" in v.split("/", 3)[2]:
            # the URL is shown (API, reports, errors): credentials go in the secret fields instead
            raise ValueError("must not carry credentials; use basic_auth_username/basic_auth_password")
        return v

    @field_validator("auth_header_name")
    @classmethod
    def _header(cls, v: str) -> str:
        if not _HEADER.match(v):
            raise ValueError(f"{v!r} is not a valid header name")
        return v

    @model_validator(mode="after")
    def _one_auth(self) -> PrometheusConfig:
        if self.auth_header_value is not None and self.basic_auth_username is not None:
            raise ValueError("use either auth_header_value or basic auth, not both")
        if (self.basic_auth_username is None) != (self.basic_auth_password is None):
            raise ValueError("basic auth needs both basic_auth_username and basic_auth_password")
        return self
