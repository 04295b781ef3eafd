"""Which kinds of data source exist, how their configuration is validated, and how they are built."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from tracehound.connectors.files import FilesConfig, build_files_sources
from tracehound.connectors.prometheus import SECRET_FIELDS as PROMETHEUS_SECRETS
from tracehound.connectors.prometheus import PrometheusConfig, build_prometheus_sources
from tracehound.connectors.simulator import SimulatorConfig, build_simulator_sources
from tracehound.engine.ports import Sources

SOURCE_KINDS = ("simulator", "files", "prometheus")
_MODELS: dict[str, type[BaseModel]] = {
    "simulator": SimulatorConfig,
    "files": FilesConfig,
    "prometheus": PrometheusConfig,
}

# Config fields that hold credentials, per kind: stored, never returned by the API or printed by the CLI.
_SECRETS: dict[str, tuple[str, ...]] = {"prometheus": PROMETHEUS_SECRETS}
# Any field whose name looks like a credential is treated as one too (defence in depth for new kinds).
_SECRET_MARKERS = ("password", "secret", "token", "api_key", "apikey", "credential", "auth_header_value")


def is_secret_field(kind: str, name: str) -> bool:
    lowered = name.lower()
    return name in _SECRETS.get(kind, ()) or any(m in lowered for m in _SECRET_MARKERS)


def _message(exc: ValidationError) -> str:
    """``config.url: must be an http:// or https:// URL; config.timeout_seconds: ...`` (fields under ``config``)."""
    parts = []
    for err in exc.errors():
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"config{field}: {msg}")
    return "; ".join(parts)


def _model(kind: str, config: Mapping[str, Any]) -> BaseModel:
    if kind not in SOURCE_KINDS:
        raise ValueError(f"kind: unknown source kind {kind!r}; choose one of: {', '.join(SOURCE_KINDS)}")
    try:
        return _MODELS[kind].model_validate(dict(config))
    except ValidationError as exc:
        raise ValueError(_message(exc)) from None


def validate_source_config(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised config of a ``kind`` source; ``ValueError`` naming the bad field (``config.url: ...``)."""
    return _model(kind, config).model_dump(mode="json")


def _build(kind: str, config: Mapping[str, Any], anchor: datetime) -> Sources:
    model = _model(kind, config)
    if isinstance(model, FilesConfig):
        return build_files_sources(model)
    if isinstance(model, PrometheusConfig):
        return build_prometheus_sources(model)
    assert isinstance(model, SimulatorConfig)
    return build_simulator_sources(model, anchor=anchor)


def build_sources(specs: Sequence[tuple[str, Mapping[str, Any]]], *, anchor: datetime) -> Sources:
    """Sources from (kind, config) pairs; for each signal the first spec that provides it wins."""
    metrics = logs = traces = changes = None
    edges: list[tuple[str, str]] = []
    for kind, config in specs:
        built = _build(kind, config, anchor)
        metrics = metrics or built.metrics
        logs = logs or built.logs
        traces = traces or built.traces
        changes = changes or built.changes
        edges += [e for e in built.call_graph if e not in edges]
    return Sources(metrics=metrics, logs=logs, traces=traces, changes=changes, call_graph=tuple(edges))
