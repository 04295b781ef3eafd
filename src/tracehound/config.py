"""Settings, read from the environment (prefix ``TRACEHOUND_``). Only entry points (cli, api, worker) read them."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRACEHOUND_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Where the embedded SQLite database lives.")
    database_url: str | None = Field(
        default=None,
        description="sqlite:///path or postgresql://user@host/db. Default: an SQLite file in data_dir.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_format: str = Field(default="text", description="text or json")
    # Sessions
    session_timeout_seconds: float = 3600.0
    step_timeout_seconds: float = 900.0
    max_input_chars: int = 100_000
    max_body_bytes: int = 1_048_576
    default_max_running: int = 5
    retry_after_429: int = 30
    retry_after_409: int = 5
    sse_heartbeat_seconds: float = Field(default=20.0, gt=0, description="Heartbeat comment interval of /sse.")
    # Worker
    executor_id: str | None = None
    heartbeat_interval_seconds: float = 2.0
    heartbeat_ttl_seconds: float = 10.0
    queue_polling_interval_seconds: float = 0.1
    worker_concurrency: int = 8
    sweep_interval_seconds: float = 5.0
    # Completion webhooks: attempts, and the waits between them (base * 3**k, capped)
    webhook_max_attempts: int = Field(default=10, ge=1, le=50)
    webhook_retry_base_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_max_seconds: float = Field(default=3600.0, gt=0)
    # Optional language model (an OpenAI-compatible chat endpoint): reads free-form follow-ups into the engine's
    # intents and words answers from the evidence. Unset: everything is deterministic.
    llm_base_url: str | None = Field(
        default=None,
        description="e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1 (POST .../chat/completions).",
    )
    llm_api_key: str | None = Field(default=None, description="Sent as 'Authorization: Bearer ...'; never logged.")
    llm_model: str | None = Field(default=None, description="Default model name; a session's or agent's model id wins.")
    llm_timeout_seconds: float = Field(default=30.0, gt=0, le=600, description="Per request, connect to last byte.")
    llm_json_mode: bool = Field(default=True, description="Ask for response_format json_object when reading intents.")
    # Web UI
    secret_key: str | None = Field(
        default=None,
        description="Signs the web UI's session cookies. Default: a random key kept in data_dir/secret_key "
        "(set this when several server processes serve one address).",
    )
    web_session_hours: float = 12.0
    secure_cookies: bool = Field(default=False, description="Mark cookies Secure even when served over plain http.")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tracehound.db').resolve()}"
