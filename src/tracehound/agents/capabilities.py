"""The capabilities this server offers. A capability is ``{"ref": str, "config": object}``; each ref validates its
own config. An agent's capabilities and a session's (additive) decide what an investigation reads and how."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tracehound.kit.errors import InvalidRequest


class _NoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _DataSourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, description="The name of one of the organization's sources.")


class _ThinkingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["auto", "deep", "fast"] = Field(description="Default thinking mode of this agent's sessions.")


@dataclass(frozen=True, slots=True)
class CapabilitySpec:
    ref: str
    name: str
    description: str
    config: type[BaseModel]

    def public(self) -> dict[str, Any]:
        return {
            "id": self.ref,
            "name": self.name,
            "description": self.description,
            "config_schema": self.config.model_json_schema(),
        }


CATALOG: dict[str, CapabilitySpec] = {
    spec.ref: spec
    for spec in (
        CapabilitySpec("metrics", "Metrics", "Read metric series (anomaly start, robust scores).", _NoConfig),
        CapabilitySpec("logs", "Logs", "Read logs (Drain templates, new and surging errors).", _NoConfig),
        CapabilitySpec("traces", "Traces", "Read spans (call graph, per-edge latency and errors).", _NoConfig),
        CapabilitySpec("changes", "Changes", "Read deployments and config changes.", _NoConfig),
        CapabilitySpec(
            "data_source",
            "Data source",
            "Use this data source of the organization (repeatable); without any, "
            "every source of the organization is used.",
            _DataSourceConfig,
        ),
        CapabilitySpec("thinking", "Thinking mode", "The default thinking mode of sessions.", _ThinkingConfig),
    )
}
SIGNALS = ("metrics", "logs", "traces", "changes")


def validate(raw: Sequence[Any], *, field: str) -> list[dict[str, Any]]:
    """Normalised ``[{ref, config}]`` or InvalidRequest naming the element and what is wrong."""
    clean: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        where = f"{field}[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("ref"), str):
            raise InvalidRequest(f"{where}: must be an object with a string 'ref' and an optional 'config'.")
        spec = CATALOG.get(item["ref"])
        if spec is None:
            raise InvalidRequest(f"{where}.ref: unknown capability '{item['ref'][:64]}'; see GET /v1/capabilities.")
        config = item.get("config") or {}
        try:
            parsed = spec.config.model_validate(config)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first.get("loc", ()))
            raise InvalidRequest(f"{where}.config{'.' + loc if loc else ''}: {first.get('msg')}") from exc
        entry = {"ref": spec.ref, "config": parsed.model_dump(mode="json")}
        if entry not in clean:
            clean.append(entry)
    return clean


def combine(agent: Sequence[dict[str, Any]], session: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Session capabilities are additive to the agent's."""
    merged = list(agent)
    merged += [c for c in session if c not in merged]
    return merged


@dataclass(frozen=True, slots=True)
class Effective:
    """What a set of capabilities means for one investigation."""

    signals: frozenset[str]  # empty = every signal
    source_names: frozenset[str]  # empty = every source
    thinking_mode: str | None


def effective(capabilities: Sequence[dict[str, Any]]) -> Effective:
    refs = [c["ref"] for c in capabilities]
    modes = [c["config"]["mode"] for c in capabilities if c["ref"] == "thinking"]
    return Effective(
        signals=frozenset(r for r in refs if r in SIGNALS),
        source_names=frozenset(c["config"]["name"] for c in capabilities if c["ref"] == "data_source"),
        thinking_mode=modes[-1] if modes else None,
    )
