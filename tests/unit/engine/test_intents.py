"""Reading follow-up questions into intents by rules, and validating intents that come from a language model."""

from datetime import UTC, datetime

import pytest

from tracehound.engine.followup.intents import intent_from_dict, parse_question, prior_questions, resolve

KNOWN = ["api-gateway", "cart", "checkout", "frontend", "payment", "postgres", "redis", "user"]
REF = datetime(2024, 10, 25, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("question", "name", "service"),
    [
        ("why not cart?", "why_not", "cart"),
        ("Why isn't it the checkout-service?", "why_not", "checkout"),
        ("why not the database?", "why_not", "postgres"),
        ("rule out the cache", "why_not", "redis"),
        ("show the errors of payment", "logs", "payment"),
        ("any exceptions in the logs of user?", "logs", "user"),
        ("what changed before 14:30?", "changes", None),
        ("were there deploys on checkout?", "changes", "checkout"),
        ("zoom in on 14:25-14:35", "zoom", None),
        ("what happened between 14:25 and 14:35?", "zoom", None),
        ("what is the impact?", "impact", None),
        ("who is affected?", "impact", None),
        ("check whether the database connection pool was exhausted", "pool", None),
        ("did checkout run out of connections?", "pool", "checkout"),
        ("what is the root cause?", "summary", None),
        ("how confident are you?", "summary", None),
        ("check whether there were timeouts", "search", None),
        ("help", "help", None),
        ("the weather is nice", "help", None),
        ("cart?", "why_not", "cart"),
    ],
)
def test_rules(question: str, name: str, service: str | None) -> None:
    intent = parse_question(question, known=KNOWN, ref=REF)
    assert (intent.name, intent.service) == (name, service)


def test_times_are_read_relative_to_the_report() -> None:
    zoom = parse_question("zoom in on 14:25-14:35", known=KNOWN, ref=REF)
    assert (zoom.start, zoom.end) == (REF.replace(hour=14, minute=25), REF.replace(hour=14, minute=35))
    before = parse_question("what changed before 14:30?", known=KNOWN, ref=REF)
    assert (before.start, before.end) == (None, REF.replace(hour=14, minute=30))


def test_the_conversation_carries_the_service_and_the_intent() -> None:
    history = [("user", "checkout is down"), ("assistant", "report"), ("user", "why not cart?"), ("assistant", "a")]
    logs = resolve("and the logs?", history=[*history, ("user", "and the logs?")], known=KNOWN, ref=REF)
    assert (logs.name, logs.service, logs.carried) == ("logs", "cart", True)
    history += [("user", "and the logs?"), ("assistant", "b")]
    other = resolve("what about redis?", history=history, known=KNOWN, ref=REF)
    assert (other.name, other.service, other.carried) == ("logs", "redis", False)


def test_the_incident_itself_is_not_an_earlier_question() -> None:
    history = [("user", "why not cart? checkout is down"), ("assistant", "report"), ("user", "the logs?")]
    assert prior_questions(history, "the logs?") == []


def test_a_model_intent_is_validated() -> None:
    ok = intent_from_dict({"intent": "logs", "service": "Cart", "start": "14:25", "end": "14:35"}, known=KNOWN, ref=REF)
    assert (ok.name, ok.service, ok.start, ok.end) == ("logs", "cart", REF.replace(hour=14, minute=25), ok.end)
    search = intent_from_dict({"intent": "search", "terms": ["Timeout", "timeout", " "]}, known=KNOWN, ref=REF)
    assert search.terms == ("timeout",)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (["logs"], "not a JSON object"),
        ({"intent": "restart_pods"}, "unknown intent 'restart_pods'"),
        ({"intent": "logs", "service": "kafka"}, "unknown service 'kafka'"),
        ({"intent": "logs", "service": 3}, "service must be a string"),
        ({"intent": "zoom", "start": "14:35", "end": "14:25"}, "start needs an end after it"),
        ({"intent": "zoom"}, "zoom needs start and end"),
        ({"intent": "changes", "end": "half past two"}, "end must be HH:MM"),
        ({"intent": "why_not", "service": None}, "why_not needs a known service"),
        ({"intent": "search", "terms": "timeouts"}, "terms must be a list of strings"),
        ({"intent": "search", "terms": []}, "search needs terms"),
    ],
)
def test_invalid_model_intents_are_refused(payload: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        intent_from_dict(payload, known=KNOWN, ref=REF)
