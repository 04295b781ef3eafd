"""Request bodies of the agents resource."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from tracehound.kit.validation import JsonObject, Text

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
MODEL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$"

Tag = Annotated[Text, Field(min_length=1, max_length=64)]


class AgentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(pattern=NAME_PATTERN, description="A slug, unique in the organization.")
    description: Text | None = Field(default=None, max_length=2000)
    system_prompt: Text | None = Field(
        default=None, max_length=20_000, description="Extra context for investigations (ownership, runbooks)."
    )
    capabilities: list[JsonObject] = Field(default_factory=list, max_length=50)
    default_model_id: Text | None = Field(default=None, pattern=MODEL_ID_PATTERN)
    tags: list[Tag] = Field(default_factory=list, max_length=20)


class AgentUpdate(BaseModel):
    """PATCH: only the fields present change."""

    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(default=None, pattern=NAME_PATTERN)
    description: Text | None = Field(default=None, max_length=2000)
    system_prompt: Text | None = Field(default=None, max_length=20_000)
    capabilities: list[JsonObject] | None = Field(default=None, max_length=50)
    default_model_id: Text | None = Field(default=None, pattern=MODEL_ID_PATTERN)
    tags: list[Tag] | None = Field(default=None, max_length=20)
    status: Text | None = Field(default=None, pattern=r"^(active|archived)$")
    is_default: StrictBool | None = None
