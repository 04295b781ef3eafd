"""The language model endpoint is configured by environment; without a base URL there is none."""

from tracehound.config import Settings
from tracehound.connectors.llm import LlmConfig
from tracehound.server import llm_config


def test_no_base_url_means_no_model() -> None:
    assert llm_config(Settings(llm_model="gpt-4o-mini")) is None


def test_the_settings_become_the_endpoint_config() -> None:
    config = llm_config(
        Settings(
            llm_base_url="http://127.0.0.1:11434/v1",
            llm_model="llama3",
            llm_api_key="sk-x",
            llm_timeout_seconds=7,
            llm_json_mode=False,
        )
    )
    assert config == LlmConfig("http://127.0.0.1:11434/v1", "llama3", "sk-x", 7.0, False)
    assert "sk-x" not in repr(config)
