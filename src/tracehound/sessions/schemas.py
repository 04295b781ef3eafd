"""Request bodies and the wire shape of sessions. Field names and formats follow the Traversal V1 contract;
fields beyond it (``started_at``, ``tags``, ``usage``...) are additive and modelled on Everruns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from tracehound.agents.schemas import MODEL_ID_PATTERN
from tracehound.kit.validation import JsonObject, Text

TITLE_MAX = 256
IDEMPOTENCY_KEY_MAX = 128
TAG_MAX = 64
TAGS_MAX = 20
PREVIEW_CHARS = 200
TIME_MIN_YEAR, TIME_MAX_YEAR = 1970, 2200

SessionStatus = Literal["running", "idle", "follow_up_running", "failed"]
ThinkingMode = Literal["auto", "deep", "fast"]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


NonBlankStr = Annotated[Text, AfterValidator(_not_blank)]


def parse_iso8601(value: str) -> datetime:
    """ISO-8601 with an offset or ``Z``; a time without an offset is read as UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"'{value[:64]}' is not an ISO-8601 timestamp (e.g. 2024-03-15T14:30:00Z)") from exc
    if not TIME_MIN_YEAR <= parsed.year <= TIME_MAX_YEAR:
        raise ValueError(f"must be a time between the years {TIME_MIN_YEAR} and {TIME_MAX_YEAR}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class SessionCreate(BaseModel):
    """Body of ``POST /v1/sessions``. Unknown fields are ignored (forward compatibility)."""

    model_config = ConfigDict(extra="ignore")

    input: NonBlankStr = Field(description="The incident description or question to investigate.")
    title: Text | None = Field(
        default=None, max_length=TITLE_MAX, description="A short label. Auto-generated if omitted."
    )
    time: Text | None = Field(default=None, description="ISO-8601 timestamp of when the incident occurred.")
    idempotency_key: Text | None = Field(
        default=None,
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX,
        description="Same key in the same organization returns the original session with 200 OK.",
    )
    tags: list[Annotated[Text, Field(min_length=1, max_length=TAG_MAX)]] | None = Field(
        default=None,
        max_length=TAGS_MAX,
        description="Tags for organizing and filtering sessions (additive).",
    )
    thinking_mode: ThinkingMode | None = Field(
        default=None, description="auto (default): chosen from the request; deep: thorough; fast: a quick look."
    )
    agent_id: Text | None = Field(default=None, description="agent_<32 hex>; default: the default agent.")
    capabilities: list[JsonObject] | None = Field(
        default=None, max_length=50, description="Session-level capabilities, additive to the agent's."
    )
    model_id: Text | None = Field(default=None, pattern=MODEL_ID_PATTERN, description="Overrides the agent's model.")

    @field_validator("time")
    @classmethod
    def _time_iso(cls, v: str | None) -> str | None:
        if v is not None:
            parse_iso8601(v)
        return v

    def incident_time(self) -> datetime | None:
        return None if self.time is None else parse_iso8601(self.time)


class MessageCreate(BaseModel):
    """Body of ``POST /v1/sessions/{session_id}/messages``."""

    model_config = ConfigDict(extra="ignore")

    input: NonBlankStr = Field(description="The follow-up question.")
    thinking_mode: ThinkingMode | None = Field(default=None, description="auto (default), deep or fast.")


# --- documented response shapes (the handlers return pre-serialised JSON of exactly these shapes) -------------


class MessageRead(BaseModel):
    id: str
    role: Literal["user", "assistant"]
    markdown_content: str
    created_at: datetime


class SessionRead(BaseModel):
    id: str
    status: SessionStatus
    title: str | None
    input: str
    created_at: datetime
    updated_at: datetime | None
    messages: list[MessageRead] | None
    time: datetime | None = None
    thinking_mode: ThinkingMode = "auto"
    tags: list[str] = []
    started_at: datetime | None = None
    finished_at: datetime | None = None
    preview: str | None = None
    output_preview: str | None = None
    usage: dict[str, Any] | None = None
    report: dict[str, Any] | None = None
    alert: dict[str, Any] | None = None


class FollowUpRead(SessionRead):
    user_message_id: str
    assistant_message_id: str


class SessionList(BaseModel):
    sessions: list[SessionRead]
    count: int
    prev: int | None
    next: int | None
    total: int


class ErrorBody(BaseModel):
    message: str
    retry_after: int | None = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody
