"""Language-model endpoints implementing :class:`tracehound.engine.ports.ChatModel`."""

from tracehound.connectors.llm.openai import ChatEndpointError, LlmConfig, OpenAICompatibleChat

__all__ = ["ChatEndpointError", "LlmConfig", "OpenAICompatibleChat"]
