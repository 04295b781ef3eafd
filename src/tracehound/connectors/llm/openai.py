"""An OpenAI-compatible chat endpoint (``POST {base_url}/chat/completions``): OpenAI, Azure-style gateways,
vLLM, Ollama, llama.cpp's server, LiteLLM...

One request per call, with its own HTTP client (the engine runs on threads with their own event loops), bounded by
``timeout_seconds`` from connect to the last byte. Every failure raises :class:`ChatEndpointError` with a message
that never contains the API key; the engine then answers without the model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from tracehound.engine.ports import ChatMessage, ChatReply


class ChatEndpointError(Exception):
    """The endpoint could not give a usable completion (unreachable, timeout, HTTP error, malformed reply)."""


@dataclass(frozen=True, slots=True)
class LlmConfig:
    """How to reach the endpoint. ``model`` is the default model name; a session's or agent's model id wins."""

    base_url: str
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)  # never printed
    timeout_seconds: float = 30.0
    json_mode: bool = True  # send response_format={"type": "json_object"} when JSON is wanted

    def chat_model(
        self, model_id: str | None = None, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> OpenAICompatibleChat | None:
        """The chat model for one turn, or None when no model name is known."""
        model = model_id or self.model
        return OpenAICompatibleChat(self, model, transport=transport) if model else None


class OpenAICompatibleChat:
    def __init__(self, config: LlmConfig, model: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config, self.model, self._transport = config, model, transport

    async def complete(
        self, messages: Sequence[ChatMessage], *, json_output: bool = False, max_tokens: int = 600
    ) -> ChatReply:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": 0,
            "max_tokens": max_tokens,
        }
        if json_output and self.config.json_mode:
            body["response_format"] = {"type": "json_object"}
        timeout = self.config.timeout_seconds
        try:
            response = await asyncio.wait_for(self._post(body), timeout=timeout)
        except (TimeoutError, httpx.TimeoutException):
            raise ChatEndpointError(f"no answer within {timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise ChatEndpointError(f"unreachable ({type(exc).__name__})") from None
        return _reply(response)

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        url = self.config.base_url.rstrip("/") + "/chat/completions"
        timeout = httpx.Timeout(self.config.timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout, transport=self._transport, follow_redirects=False) as client:
            return await client.post(url, json=body, headers=headers)


def _reply(response: httpx.Response) -> ChatReply:
    if response.status_code != 200:
        detail = " ".join(response.text.split())[:200]
        raise ChatEndpointError(f"HTTP {response.status_code}" + (f": {detail}" if detail else ""))
    try:
        data = response.json()
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ChatEndpointError("the reply is not an OpenAI chat completion") from None
    if not isinstance(content, str):
        raise ChatEndpointError("the reply has no text content")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return ChatReply(content, _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens")))


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
