"""Request bodies of the agents resource."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
MODEL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$"

Tag = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class AgentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(pattern=NAME_PATTERN, description="A slug, unique in the organization.")
    description: StrictStr | None = Field(default=None, max_length=2000)
    system_prompt: StrictStr | None = Field(
        default=None, max_length=20_000, description="Extra context for investigations (ownership, runbooks)."
    )
    capabilities: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    default_model_id: StrictStr | None = Field(default=None, pattern=MODEL_ID_PATTERN)
    tags: list[Tag] = Field(default_factory=list, max_length=20)


class AgentUpdate(BaseModel):
    """PATCH: only the fields present change."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr | None = Field(default=None, pattern=NAME_PATTERN)
    description: StrictStr | None = Field(default=None, max_length=2000)
    system_prompt: StrictStr | None = Field(default=None, max_length=20_000)
    capabilities: list[dict[str, Any]] | None = Field(default=None, max_length=50)
    default_model_id: StrictStr | None = Field(default=None, pattern=MODEL_ID_PATTERN)
    tags: list[Tag] | None = Field(default=None, max_length=20)
    status: StrictStr | None = Field(default=None, pattern=r"^(active|archived)$")
    is_default: StrictBool | None = None
