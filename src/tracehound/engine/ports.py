"""What the engine needs from the outside world. Connectors implement these; tests use small fakes.

Every method is async (real sources do I/O). A source raises any exception on failure; the engine records it
as a :class:`~tracehound.engine.types.SourceFailure`, lowers the confidence and carries on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from tracehound.engine.types import Change, LogRecord, ProgressEvent, Series, Span, TimeRange


@runtime_checkable
class MetricsSource(Protocol):
    name: str

    async def services(self) -> Sequence[str]:
        """Every service the source knows (for matching names in the incident text)."""
        ...

    async def query(self, window: TimeRange, *, services: Sequence[str] | None = None) -> Sequence[Series]:
        """Every series of the given services (all when None) over ``window``."""
        ...


@runtime_checkable
class LogSource(Protocol):
    name: str

    async def logs(
        self, window: TimeRange, *, services: Sequence[str] | None = None, limit: int = 100_000
    ) -> Sequence[LogRecord]: ...


@runtime_checkable
class TraceSource(Protocol):
    name: str

    async def spans(self, window: TimeRange, *, limit: int = 200_000) -> Sequence[Span]: ...


@runtime_checkable
class ChangeSource(Protocol):
    name: str

    async def changes(self, window: TimeRange) -> Sequence[Change]: ...


@dataclass(frozen=True, slots=True)
class Sources:
    """The data sources of one investigation. Any of them may be missing."""

    metrics: MetricsSource | None = None
    logs: LogSource | None = None
    traces: TraceSource | None = None
    changes: ChangeSource | None = None
    call_graph: tuple[tuple[str, str], ...] = ()  # static (caller, callee) edges, if known
    # stretches known to be healthy (e.g. a dataset's fault-free period): the engine also learns the usual shape
    # of requests and each call edge's usual time on the wire from the logs and spans there, when they do not
    # overlap the investigation's own windows
    reference: tuple[TimeRange, ...] = ()

    @property
    def empty(self) -> bool:
        return self.metrics is None and self.logs is None and self.traces is None and self.changes is None


Clock = Callable[[], datetime]
ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class ChatReply:
    """One completion: its text and the tokens the endpoint says it used (0 when it does not say)."""

    content: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


@runtime_checkable
class ChatModel(Protocol):
    """An optional language model (an OpenAI-compatible chat endpoint, or a scripted fake in tests).

    The engine uses it only to read a follow-up question into one of its own intents and to word answers from the
    evidence it already has; on any exception it falls back to its deterministic path.
    """

    model: str  # the model name sent to the endpoint

    async def complete(
        self, messages: Sequence[ChatMessage], *, json_output: bool = False, max_tokens: int = 600
    ) -> ChatReply: ...
