"""Loading and filling the prompt templates shipped in ``tracehound/engine/llm/prompts``."""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template


@cache
def _template(name: str) -> Template:
    return Template(resources.files("tracehound.engine.llm.prompts").joinpath(f"{name}.txt").read_text("utf-8"))


def render(name: str, **values: str) -> str:
    """The template ``name`` with every ``$placeholder`` filled (a missing value is a KeyError)."""
    return _template(name).substitute(values).strip()
