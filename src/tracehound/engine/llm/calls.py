"""Calls to the chat model within one turn: token counts, failures, and no second try on a dead endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tracehound.engine.ports import ChatMessage, ChatModel


class ModelFailed(Exception):
    """The model could not be used for one step; the message says why (shown to the user)."""


@dataclass
class ModelUse:
    chat: ChatModel
    prompt_tokens: int = 0
    completion_tokens: int = 0
    down: str | None = None  # set when a call failed outright: later calls of the turn are not tried

    @property
    def model(self) -> str:
        return self.chat.model

    async def ask(self, messages: Sequence[ChatMessage], *, json_output: bool = False, max_tokens: int = 600) -> str:
        if self.down is not None:
            raise ModelFailed(f"not tried again after it failed ({self.down})")
        try:
            reply = await self.chat.complete(messages, json_output=json_output, max_tokens=max_tokens)
        except Exception as exc:  # any failure of the endpoint: the deterministic path answers
            self.down = str(exc)[:300] or type(exc).__name__
            raise ModelFailed(self.down) from exc
        self.prompt_tokens += max(0, int(reply.prompt_tokens))
        self.completion_tokens += max(0, int(reply.completion_tokens))
        if not reply.content.strip():
            raise ModelFailed("the model's reply was empty")
        return reply.content

    def usage(self) -> dict[str, int]:
        return {"llm_prompt_tokens": self.prompt_tokens, "llm_completion_tokens": self.completion_tokens}


def system(text: str) -> ChatMessage:
    return ChatMessage("system", text)


def user(text: str) -> ChatMessage:
    return ChatMessage("user", text)
