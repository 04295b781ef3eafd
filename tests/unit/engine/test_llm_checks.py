"""The checks on what a language model writes, and the prompt templates (no model, no I/O)."""

import pytest

from tracehound.engine.followup.interpret import parse_json_object
from tracehound.engine.llm.grounding import prose, ungrounded
from tracehound.engine.llm.templates import render

FACTS = (
    "db_pool_connections_in_use: 3 before → 20 after 14:50 UTC, peak 20; error_rate 0.1098 ratio; "
    "latency 685.4995 ms; 1,387 requests; service `checkout`"
)


@pytest.mark.parametrize(
    "text",
    [
        "The pool of `checkout` went from 3 to 20 after 14:50.",
        "Errors reached 11% and latency about 685 ms.",  # a ratio as a percentage, a rounded value
        "About 0.69 s of latency, on 1,387 requests, in two services (3 of them).",
    ],
)
def test_grounded_wording_passes(text: str) -> None:
    assert ungrounded(text, FACTS) == []


def test_invented_figures_times_and_names_are_caught() -> None:
    text = "The pool hit 97 connections at 14:41 on 2024-10-26 in `orders`, not `checkout`."
    assert ungrounded(text, FACTS) == ["97", "14:41", "2024-10-26", "`orders`"]


def test_prose_strips_markup_that_could_mislead_or_inject() -> None:
    text = "# Title\n\n<script>x</script> see [this](http://evil) | a |\n\n```sh\nrm -rf /\n```\n\n1. first"
    out = prose(text)
    assert out.startswith("\\# Title")
    assert "\\<script\\>" in out and "\\[this\\](http://evil)" in out and "\\|" in out
    assert "rm -rf" not in out
    assert out.endswith("1\\. first")
    assert len(prose("word " * 1000, limit=100)) == 100


def test_a_json_object_is_found_inside_a_code_fence() -> None:
    assert parse_json_object('```json\n{"intent": "logs"}\n```') == {"intent": "logs"}
    with pytest.raises(ValueError, match="no JSON object"):
        parse_json_object("logs, please")


def test_every_prompt_template_renders() -> None:
    values = dict.fromkeys(
        ("intents", "services", "window", "anomaly_start", "root_cause", "earlier", "previous", "question"), "x"
    )
    assert "JSON object" in render("interpret_system", intents="- logs: ...")
    assert "Question: x" in render("interpret_user", **values)
    assert "Use only the facts given" in render("answer_system")
    assert "verdict" not in render("answer_user", question="q", understood="u", verdict="", report="r", facts="f")
    assert "Use only the report" in render("summary_system")
    assert "JSON" in render("summary_user", report="{}")
