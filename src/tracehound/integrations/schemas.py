"""Request bodies of the integration endpoints and the payloads tracehound receives (Alertmanager webhook v4,
PagerDuty webhook v3). Unknown fields are ignored: senders add fields over time."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, field_validator

from tracehound.kit.errors import InvalidRequest
from tracehound.sessions.schemas import TAG_MAX, TAGS_MAX, parse_iso8601

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,99}$"
WEBHOOK_EVENTS = ("session.idle", "session.failed")
M = TypeVar("M", bound=BaseModel)
WebhookEvent = Literal["session.idle", "session.failed"]


def field_message(exc: ValidationError) -> str:
    """The first problem, naming its field: ``alerts[0].startsAt: Field required``."""
    first = exc.errors()[0]
    out = ""
    for part in first.get("loc", ()):
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    msg = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
    more = len(exc.errors()) - 1
    return f"{out or 'body'}: {msg}" + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def parse_body(model: type[M], raw: bytes) -> M:
    """Validate a raw JSON body; ``InvalidRequest`` (400) naming the field otherwise."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(field_message(exc)) from None


# --- configuration (admin) --------------------------------------------------------------------------------------


class ConnectorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(pattern=NAME_PATTERN, description="Unique in the organisation.")
    kind: StrictStr = Field(description="prometheus, simulator or files.")
    config: dict[str, Any] = Field(description="The connector's configuration (secrets are never returned).")


class ConnectorUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: StrictStr | None = None
    config: dict[str, Any] = Field(description="The new configuration. Secret fields left out keep their stored value.")


Tag = Annotated[StrictStr, Field(min_length=1, max_length=TAG_MAX)]


class IntegrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(pattern=NAME_PATTERN)
    kind: Literal["alertmanager", "pagerduty"]
    secret: StrictStr | None = Field(
        default=None,
        min_length=8,
        max_length=512,
        description="PagerDuty only: the webhook subscription's signing secret (never returned).",
    )
    thinking_mode: Literal["auto", "deep", "fast"] | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=TAGS_MAX - 2)


def _all_events() -> list[WebhookEvent]:
    return ["session.idle", "session.failed"]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: StrictStr = Field(max_length=2000)
    events: list[WebhookEvent] = Field(default_factory=_all_events, min_length=1)
    description: StrictStr | None = Field(default=None, max_length=256)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not (v.startswith("http://") or v.startswith("https://")) or len(v) < 10 or " " in v:
            raise ValueError("must be an http:// or https:// URL")
        return v


# --- received payloads ------------------------------------------------------------------------------------------


def _iso(v: str) -> str:
    parse_iso8601(v)
    return v


class AmAlert(BaseModel):
    """One alert of an Alertmanager notification."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, StrictStr] = Field(min_length=1)
    annotations: dict[str, StrictStr] = Field(default_factory=dict)
    startsAt: StrictStr
    endsAt: StrictStr | None = None
    generatorURL: StrictStr | None = None
    fingerprint: StrictStr | None = None

    _starts = field_validator("startsAt")(_iso)


class AmNotification(BaseModel):
    """An Alertmanager webhook notification (payload version 4)."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    groupKey: StrictStr = Field(min_length=1, max_length=10_000)
    status: Literal["firing", "resolved"]
    receiver: StrictStr = ""
    groupLabels: dict[str, StrictStr] = Field(default_factory=dict)
    commonLabels: dict[str, StrictStr] = Field(default_factory=dict)
    commonAnnotations: dict[str, StrictStr] = Field(default_factory=dict)
    externalURL: StrictStr = ""
    truncatedAlerts: int = 0
    alerts: list[AmAlert] = Field(min_length=1, max_length=1000)


class PdReference(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: StrictStr | None = None
    summary: StrictStr | None = None
    html_url: StrictStr | None = None


class PdIncident(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: StrictStr = Field(min_length=1, max_length=64)
    type: StrictStr = "incident"
    title: StrictStr = Field(min_length=1)
    html_url: StrictStr | None = None
    number: int | None = None
    status: StrictStr | None = None
    urgency: StrictStr | None = None
    created_at: StrictStr | None = None
    service: PdReference | None = None
    priority: PdReference | None = None
    incident_key: StrictStr | None = None

    @field_validator("created_at")
    @classmethod
    def _created(cls, v: str | None) -> str | None:
        return None if v is None else _iso(v)


class PdEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: StrictStr = Field(min_length=1)
    event_type: StrictStr = Field(min_length=1)
    resource_type: StrictStr = Field(min_length=1)
    occurred_at: StrictStr
    data: dict[str, Any] | None = None

    _occurred = field_validator("occurred_at")(_iso)


class PdWebhook(BaseModel):
    """A PagerDuty V3 webhook body: ``{"event": {...}}``."""

    model_config = ConfigDict(extra="ignore")

    event: PdEvent
