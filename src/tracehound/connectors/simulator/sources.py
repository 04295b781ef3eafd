"""Simulator configuration and the source objects implementing the engine's ports."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tracehound.connectors.simulator import generate, traces
from tracehound.connectors.simulator.model import ActiveFault
from tracehound.connectors.simulator.topology import EDGES, NAMES, SPEC
from tracehound.engine.ports import Sources
from tracehound.engine.types import Change, LogRecord, Series, Span, TimeRange

SourceName = Literal["metrics", "logs", "traces", "changes"]
FaultType = Literal["errors", "latency", "cpu", "memory", "bad_deploy", "db_pool", "network"]


class FaultSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    service: str
    type: FaultType
    start: datetime | None = None
    duration_minutes: int = Field(default=30, ge=1, le=24 * 60)

    @field_validator("service")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in NAMES:
            raise ValueError(f"unknown service {v!r}; the simulator has: {', '.join(NAMES)}")
        return v

    @field_validator("start")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            return v.replace(tzinfo=UTC)
        return v

    @model_validator(mode="after")
    def _pool_needs_db_client(self) -> FaultSpec:
        if self.type == "db_pool" and not SPEC[self.service].db_client:
            clients = ", ".join(s for s in NAMES if SPEC[s].db_client)
            raise ValueError(f"db_pool faults need a database client service ({clients}), not {self.service!r}")
        return self


class SimulatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 7
    fault: FaultSpec | None = None
    latency_seconds: float = Field(default=0.0, ge=0.0, le=600.0)
    fail: list[SourceName] = Field(default_factory=list)


class _Base:
    name = "simulator"

    def __init__(self, config: SimulatorConfig, fault: ActiveFault | None, kind: SourceName) -> None:
        self.config, self.fault, self.kind = config, fault, kind

    async def _enter(self) -> None:
        if self.config.latency_seconds > 0:
            await asyncio.sleep(self.config.latency_seconds)
        if self.kind in self.config.fail:
            raise RuntimeError(f"simulator {self.kind} source is configured to fail (fail={self.config.fail})")


def _services(services: Sequence[str] | None) -> list[str]:
    return [s for s in NAMES if services is None or s in set(services)]


class SimMetrics(_Base):
    async def services(self) -> Sequence[str]:
        await self._enter()
        return list(NAMES)

    async def query(self, window: TimeRange, *, services: Sequence[str] | None = None) -> Sequence[Series]:
        await self._enter()
        return generate.metrics(self.config.seed, self.fault, window, _services(services))


class SimLogs(_Base):
    async def logs(
        self, window: TimeRange, *, services: Sequence[str] | None = None, limit: int = 100_000
    ) -> Sequence[LogRecord]:
        await self._enter()
        return generate.logs(self.config.seed, self.fault, window, _services(services), limit)


class SimTraces(_Base):
    async def spans(self, window: TimeRange, *, limit: int = 200_000) -> Sequence[Span]:
        await self._enter()
        return traces.spans(self.config.seed, self.fault, window, limit)


class SimChanges(_Base):
    async def changes(self, window: TimeRange) -> Sequence[Change]:
        await self._enter()
        return traces.changes(self.config.seed, self.fault, window)


def active_fault(config: SimulatorConfig, anchor: datetime) -> ActiveFault | None:
    f = config.fault
    if f is None:
        return None
    start = f.start if f.start is not None else anchor - timedelta(minutes=10)
    start_s = start.astimezone(UTC).timestamp()
    return ActiveFault(f.service, f.type, start_s, start_s + 60.0 * f.duration_minutes)


def build_simulator_sources(config: SimulatorConfig, *, anchor: datetime) -> Sources:
    """All four simulated sources plus the call graph; a fault without a start begins at anchor - 10 min."""
    fault = active_fault(config, anchor)
    return Sources(
        metrics=SimMetrics(config, fault, "metrics"),
        logs=SimLogs(config, fault, "logs"),
        traces=SimTraces(config, fault, "traces"),
        changes=SimChanges(config, fault, "changes"),
        call_graph=EDGES,
    )
