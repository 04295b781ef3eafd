"""Prometheus (and PromQL-compatible servers) as a metrics source."""

from tracehound.connectors.prometheus.client import PrometheusClient, PrometheusError
from tracehound.connectors.prometheus.config import SECRET_FIELDS, PrometheusConfig
from tracehound.connectors.prometheus.sources import PrometheusMetrics, build_prometheus_sources

__all__ = [
    "SECRET_FIELDS",
    "PrometheusClient",
    "PrometheusConfig",
    "PrometheusError",
    "PrometheusMetrics",
    "build_prometheus_sources",
]
