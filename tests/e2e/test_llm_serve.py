"""A real ``tracehound serve`` configured with a language model endpoint (a scripted fake on loopback): free-form
follow-ups go through the model, with the session's or the agent's model id; with the endpoint down the same
server answers through the deterministic path and says so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.fake_llm import FakeLLM, Reply, by_task
from tests.support.servers import Proc, server
from tests.support.tenants import Tenant, make_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

POOL_SIM = {"seed": 7, "fault": {"service": "checkout", "type": "db_pool", "start": None, "duration_minutes": 60}}
INCIDENT = "Checkout is slow and failing since 10 minutes ago."
SUMMARY = "The most likely root cause is `checkout`: its database connection pool was exhausted."
WORDED = "Yes: the connection pool of `checkout` was exhausted, and its logs show the surge."
POOL = json.dumps({"intent": "pool", "service": "checkout"})
FREE_FORM = "are we out of sockets on the order flow?"  # the rules cannot read this one


def _post(proc: Proc, tenant: Tenant, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(f"{proc.base_url}{path}", params={"wait": "true"}, json=body, headers=tenant.headers(), timeout=150)
    assert r.status_code in (200, 201), r.text
    out: dict[str, Any] = r.json()
    assert out["status"] == "idle", out
    return out


def _serve(tmp: Path, llm_url: str) -> Proc:
    env = {
        "TRACEHOUND_LLM_BASE_URL": llm_url,
        "TRACEHOUND_LLM_MODEL": "default-model",
        "TRACEHOUND_LLM_API_KEY": "sk-e2e-secret",
        "TRACEHOUND_LLM_TIMEOUT_SECONDS": "5",
    }
    return server(f"sqlite:///{tmp / 'th.db'}", tmp, **env).start()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLM]:
    endpoint = FakeLLM(by_task(interpret=Reply(POOL), answer=Reply(WORDED), summary=Reply(SUMMARY))).start()
    yield endpoint
    endpoint.stop()


def test_a_free_form_follow_up_goes_through_the_model(tmp_path: Path, fake: FakeLLM) -> None:
    proc = _serve(tmp_path, fake.url)
    try:
        tenant = make_tenant(f"sqlite:///{tmp_path / 'th.db'}", sim=POOL_SIM)
        created = _post(proc, tenant, "/v1/sessions", {"input": INCIDENT, "model_id": "session-model"})
        assert created["messages"][-1]["markdown_content"].startswith(SUMMARY)
        assert created["report"]["narration"] == {"summary_by": "model", "model": "session-model", "reason": None}
        asked = _post(proc, tenant, f"/v1/sessions/{created['id']}/messages", {"input": FREE_FORM})
        answer = asked["messages"][-1]["markdown_content"]
        assert answer.startswith(WORDED)
        assert "exhausted? **Yes**" in answer and "read by the language model `session-model`" in answer
        assert asked["usage"]["llm_prompt_tokens"] == 360 and asked["usage"]["llm_completion_tokens"] == 90
        assert fake.tasks()[-3:] == ["summary", "interpret", "answer"]
        assert {r["model"] for r in fake.requests} == {"session-model"}
        assert fake.headers[-1]["authorization"] == "Bearer sk-e2e-secret"
        assert "sk-e2e-secret" not in proc.log_path.read_text()
        agent = httpx.post(
            f"{proc.base_url}/v1/agents",
            json={"name": "db-team", "default_model_id": "agent-model"},
            headers=tenant.headers(),
            timeout=30,
        )
        assert agent.status_code == 201, agent.text
        _post(proc, tenant, "/v1/sessions", {"input": INCIDENT, "agent_id": agent.json()["id"]})
        assert fake.requests[-1]["model"] == "agent-model"
    finally:
        proc.stop()


def test_with_the_endpoint_down_the_same_questions_take_the_deterministic_path(tmp_path: Path) -> None:
    down = FakeLLM(by_task()).start()
    down.stop()  # the port is closed: every request is refused
    proc = _serve(tmp_path, down.url)
    try:
        tenant = make_tenant(f"sqlite:///{tmp_path / 'th.db'}", sim=POOL_SIM)
        created = _post(proc, tenant, "/v1/sessions", {"input": INCIDENT})
        narration = created["report"]["narration"]
        assert (narration["summary_by"], narration["model"]) == ("rules", "default-model")
        assert "unreachable" in narration["reason"]
        assert "could not word a summary" in created["messages"][-1]["markdown_content"]
        sid = created["id"]
        asked = _post(proc, tenant, f"/v1/sessions/{sid}/messages", {"input": FREE_FORM})
        answer = asked["messages"][-1]["markdown_content"]
        assert answer.startswith("I cannot answer that question") and "You can ask" in answer
        assert "tracehound's rules took over from the model" in answer and "unreachable" in answer
        asked = _post(proc, tenant, f"/v1/sessions/{sid}/messages", {"input": "show the logs of checkout"})
        answer = asked["messages"][-1]["markdown_content"]
        assert answer.startswith("### Error and warning logs of `checkout`")
        assert "could not acquire database connection" in answer
        assert asked["usage"].get("llm_completion_tokens", 0) == 0
        assert down.requests == []
    finally:
        proc.stop()
