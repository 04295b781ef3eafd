"""The OpenAI-compatible chat connector against a scripted fake endpoint on loopback, and the engine's language
model path through it: free-form follow-ups read into intents, answers and summaries worded from the evidence, and
the deterministic fallback on every failure (timeout, HTTP 500, malformed JSON, an intent that does not exist, an
unreachable endpoint, a wording that cites figures not in the evidence)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.support.fake_llm import FakeLLM, Reply, Script, by_task
from tracehound.connectors.llm import ChatEndpointError, LlmConfig, OpenAICompatibleChat
from tracehound.connectors.simulator import SimulatorConfig, build_simulator_sources
from tracehound.engine.followup import FollowUpAnswer, answer_follow_up
from tracehound.engine.investigate import investigate
from tracehound.engine.llm.narrate import narrate_report
from tracehound.engine.ports import ChatMessage, Sources
from tracehound.engine.report import Report
from tracehound.engine.types import Incident

CREATED = datetime(2024, 10, 25, 15, 0, tzinfo=UTC)
INCIDENT = Incident("checkout is slow since 14:50 UTC", CREATED)
POOL = json.dumps({"intent": "pool", "service": "checkout", "start": None, "end": None, "terms": []})
WORDED = "Yes: the connection pool of `checkout` was exhausted after 14:50 UTC, and its logs show the surge."
MESSAGES = [ChatMessage("system", "be brief"), ChatMessage("user", "hi")]


@pytest.fixture(scope="module")
async def case() -> tuple[Report, Sources]:
    config = SimulatorConfig.model_validate({"fault": {"service": "checkout", "type": "db_pool"}})
    sources = build_simulator_sources(config, anchor=CREATED)
    return await investigate(INCIDENT, sources), sources


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakeLLM]:
    script: Script = getattr(request, "param", by_task(interpret=Reply(POOL), answer=Reply(WORDED)))
    server = FakeLLM(script).start()
    yield server
    server.stop()


def _chat(fake: FakeLLM, *, timeout: float = 5.0, model: str = "scripted-model") -> OpenAICompatibleChat:
    chat = LlmConfig(fake.url, api_key="sk-test-123", timeout_seconds=timeout).chat_model(model)
    assert chat is not None
    return chat


async def _ask(q: str, case: tuple[Report, Sources], fake: FakeLLM, **kw: float) -> FollowUpAnswer:
    report, sources = case
    history = [("user", INCIDENT.text), ("assistant", "report"), ("user", "why not cart?"), ("assistant", "a")]
    return await answer_follow_up(
        q,
        incident=INCIDENT,
        report=report,
        history=[*history, ("user", q)],
        sources=sources,
        now=CREATED,
        chat=_chat(fake, **kw),
    )


# --- the connector ------------------------------------------------------------------------------------------------


async def test_a_completion_sends_the_model_key_and_json_mode(fake: FakeLLM) -> None:
    fake.script = lambda body: Reply("hello", prompt_tokens=11, completion_tokens=2)
    reply = await _chat(fake).complete(MESSAGES, json_output=True, max_tokens=50)
    assert (reply.content, reply.prompt_tokens, reply.completion_tokens) == ("hello", 11, 2)
    body = fake.requests[0]
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("scripted-model", 0, 50)
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert fake.headers[0]["authorization"] == "Bearer sk-test-123"


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(status=500, raw=b'{"error": {"message": "overloaded"}}'), "HTTP 500: .*overloaded"),
        (Reply(raw=b'{"choices": [{"message": '), "not an OpenAI chat completion"),
        (Reply(raw=b'{"choices": []}'), "not an OpenAI chat completion"),
        (Reply(raw=b'{"choices": [{"message": {"content": null}}]}'), "no text content"),
        (Reply("late", delay=1.5), r"no answer within 0.3 s"),
    ],
)
async def test_endpoint_failures_raise_a_clear_error_without_the_key(fake: FakeLLM, reply: Reply, message: str) -> None:
    fake.script = lambda body: reply
    with pytest.raises(ChatEndpointError, match=message) as info:
        await _chat(fake, timeout=0.3).complete(MESSAGES)
    assert "sk-test-123" not in str(info.value)


async def test_an_unreachable_endpoint_is_an_error(fake: FakeLLM) -> None:
    fake.stop()
    with pytest.raises(ChatEndpointError, match=r"unreachable \(ConnectError\)"):
        await _chat(fake).complete(MESSAGES)


def test_without_a_model_name_there_is_no_chat_model() -> None:
    assert LlmConfig("http://127.0.0.1:9/v1").chat_model(None) is None
    assert LlmConfig("http://127.0.0.1:9/v1", model="m").chat_model("override").model == "override"  # type: ignore[union-attr]
    assert "sk-" not in repr(LlmConfig("http://x/v1", api_key="sk-secret"))


# --- follow-ups through the model ---------------------------------------------------------------------------------


async def test_a_free_form_question_is_read_and_worded_by_the_model(
    case: tuple[Report, Sources], fake: FakeLLM
) -> None:
    answer = await _ask("hmm, did checkout maybe run dry on db stuff??", case, fake)
    assert answer.markdown.startswith(WORDED)
    assert "exhausted? **Yes**" in answer.markdown  # the deterministic answer with its evidence stays below
    assert "read by the language model `scripted-model`" in answer.markdown
    assert (answer.meta["interpreted_by"], answer.meta["phrased_by"]) == ("model", "model")
    assert answer.meta["intent"]["name"] == "pool"
    assert (answer.usage["llm_prompt_tokens"], answer.usage["llm_completion_tokens"]) == (240, 60)
    assert fake.tasks() == ["interpret", "answer"]
    prompt = fake.requests[0]["messages"][1]["content"]
    assert "why not cart?" in prompt and "checkout" in prompt  # the conversation is the context


@pytest.mark.parametrize(
    ("interpretation", "why"),
    [
        (Reply(json.dumps({"intent": "restart_pods"})), "unknown intent 'restart\\_pods'"),
        (Reply("Sure! I think they want the logs."), "holds no JSON object"),
        (Reply('{"intent": "logs", "service": }'), "not valid JSON"),
        (Reply(json.dumps({"intent": "logs", "service": "kafka"})), "unknown service 'kafka'"),
    ],
)
async def test_an_unusable_reading_falls_back_to_the_rules(
    case: tuple[Report, Sources], fake: FakeLLM, interpretation: Reply, why: str
) -> None:
    fake.script = by_task(interpret=interpretation, answer=Reply(WORDED))
    answer = await _ask("check whether the database connection pool was exhausted", case, fake)
    assert answer.meta["interpreted_by"] == "rules"
    assert answer.meta["intent"]["name"] == "pool"  # what the rules read
    assert why in answer.markdown, answer.markdown
    assert "exhausted? **Yes**" in answer.markdown, answer.markdown


@pytest.mark.parametrize(
    ("failure", "why"),
    [(Reply(status=500, raw=b"upstream exploded"), "HTTP 500: upstream exploded"), (Reply("x", delay=1.5), "0.3 s")],
)
async def test_a_failing_endpoint_gives_the_deterministic_answer_and_is_not_retried(
    case: tuple[Report, Sources], fake: FakeLLM, failure: Reply, why: str
) -> None:
    fake.script = lambda body: failure
    answer = await _ask("and the logs?", case, fake, timeout=0.3)
    assert answer.markdown.startswith("### Error and warning logs of `cart`")  # rules, with the conversation
    assert why in answer.markdown and "tracehound's rules took over" in answer.markdown
    assert (answer.meta["interpreted_by"], answer.meta["phrased_by"]) == ("rules", "rules")
    assert len(fake.requests) == 1


async def test_a_wording_with_invented_figures_is_discarded(case: tuple[Report, Sources], fake: FakeLLM) -> None:
    invented = "The pool of `checkout` hit 97 connections at 14:41 UTC because of `kafka`."
    fake.script = by_task(interpret=Reply(POOL), answer=Reply(invented))
    answer = await _ask("was the pool full?", case, fake)
    assert "hit 97" not in answer.markdown
    assert answer.meta["phrased_by"] == "rules"
    assert "97, 14:41, \\`kafka\\` is not in the evidence" in answer.markdown


async def test_a_wording_that_contradicts_the_verdict_is_discarded(case: tuple[Report, Sources], fake: FakeLLM) -> None:
    fake.script = by_task(interpret=Reply(POOL), answer=Reply("No, the pool of `checkout` looks fine."))
    answer = await _ask("was the pool full?", case, fake)
    assert answer.meta["verdict"] == "yes" and answer.meta["phrased_by"] == "rules"
    assert "does not open with the verdict (yes)" in answer.markdown
    assert "looks fine" not in answer.markdown


# --- the report summary -------------------------------------------------------------------------------------------


async def test_the_report_summary_is_worded_by_the_model(case: tuple[Report, Sources], fake: FakeLLM) -> None:
    text = "The most likely root cause is `checkout`, with High confidence: its connection pool was exhausted."
    fake.script = by_task(summary=Reply(text))
    narration = await narrate_report(case[0], _chat(fake))
    assert narration.text == text
    assert narration.meta == {"summary_by": "model", "model": "scripted-model", "reason": None}
    assert narration.usage == {"llm_prompt_tokens": 120, "llm_completion_tokens": 30}
    markdown = narration.compose(case[0].to_markdown())
    assert markdown.startswith(text) and "## Evidence" in markdown
    assert '"root_cause": "checkout"' in fake.requests[0]["messages"][1]["content"]


async def test_a_failed_summary_keeps_the_report_and_says_why(case: tuple[Report, Sources], fake: FakeLLM) -> None:
    fake.script = lambda body: Reply(status=503, raw=b"")
    narration = await narrate_report(case[0], _chat(fake))
    assert narration.text is None and narration.meta["summary_by"] == "rules"
    markdown = narration.compose("## Summary\n")
    assert "could not word a summary (HTTP 503)" in markdown and markdown.endswith("## Summary\n")
    no_model = await narrate_report(case[0], None)
    assert no_model.meta["reason"] == "no language model is configured"
    assert no_model.compose("## Summary\n") == "## Summary\n"
