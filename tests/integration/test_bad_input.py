"""Bad input to the V1 API, on SQLite and on PostgreSQL: every case is a 4xx in the error envelope whose message
names the field, nothing is stored, and no response ever carries a Python traceback. Inputs at the limits are
accepted."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.polling import wait_status
from tests.support.servers import Proc
from tests.support.tenants import Tenant, stored_counts

INCIDENT = "Checkout is returning 500 errors since 14:30 UTC. Error rate jumped from 0.1% to 15%."
JSON = {"Content-Type": "application/json"}


def _post(api: Proc, tenant: Tenant, path: str, **kwargs: Any) -> httpx.Response:
    headers = {**tenant.headers(), **kwargs.pop("headers", {})}
    return httpx.post(f"{api.base_url}{path}", headers=headers, timeout=60, **kwargs)


def _assert_envelope(r: httpx.Response, status: int, *fragments: str) -> str:
    """The response is ``status`` in the error envelope, and its message contains every fragment."""
    assert "Traceback" not in r.text
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "retry_after"}, body
    assert body["error"]["retry_after"] is None
    message = body["error"]["message"]
    assert isinstance(message, str) and message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# (id, request kwargs, expected status, what the message must contain)
CREATE_CASES: list[tuple[str, dict[str, Any], int, tuple[str, ...]]] = [
    ("malformed-json", {"content": b'{"input": "checkout is down",', "headers": JSON}, 400, ("JSON",)),
    ("json-array-body", {"json": [{"input": INCIDENT}]}, 400, ("JSON object",)),
    ("json-string-body", {"json": INCIDENT}, 400, ("JSON object",)),
    ("input-number", {"json": {"input": 42}}, 400, ("input",)),
    ("input-null", {"json": {"input": None}}, 400, ("input",)),
    ("input-missing", {"json": {"title": "no input"}}, 400, ("input",)),
    ("input-empty", {"json": {"input": ""}}, 400, ("input", "empty")),
    ("input-whitespace", {"json": {"input": " \n\t  "}}, 400, ("input", "empty")),
    ("title-257", {"json": {"input": INCIDENT, "title": "t" * 257}}, 400, ("title", "256")),
    ("title-number", {"json": {"input": INCIDENT, "title": 7}}, 400, ("title",)),
    ("key-129", {"json": {"input": INCIDENT, "idempotency_key": "k" * 129}}, 400, ("idempotency_key", "128")),
    ("key-empty", {"json": {"input": INCIDENT, "idempotency_key": ""}}, 400, ("idempotency_key",)),
    ("time-not-iso", {"json": {"input": INCIDENT, "time": "yesterday at noon"}}, 400, ("time", "ISO-8601")),
    ("time-number", {"json": {"input": INCIDENT, "time": 1710513000}}, 400, ("time",)),
    ("tags-not-list", {"json": {"input": INCIDENT, "tags": "checkout"}}, 400, ("tags",)),
    ("tags-of-numbers", {"json": {"input": INCIDENT, "tags": [1, 2]}}, 400, ("tags",)),
    ("tags-21", {"json": {"input": INCIDENT, "tags": [f"t{i}" for i in range(21)]}}, 400, ("tags",)),
    ("tag-65", {"json": {"input": INCIDENT, "tags": ["x" * 65]}}, 400, ("tags",)),
    ("input-1m-chars", {"json": {"input": "x" * 1_000_000}}, 400, ("input", "100000")),
    (
        "body-2mib",
        {"content": json.dumps({"input": "y" * (2 * 1024 * 1024)}).encode(), "headers": JSON},
        413,
        ("body", "1048576"),
    ),
]


@pytest.mark.parametrize(
    ("request_kwargs", "status", "fragments"), [pytest.param(*case[1:], id=case[0]) for case in CREATE_CASES]
)
def test_bad_create_is_a_4xx_naming_the_field_and_stores_nothing(
    api: Proc,
    tenant: Tenant,
    shared_db_url: str,
    request_kwargs: dict[str, Any],
    status: int,
    fragments: tuple[str, ...],
) -> None:
    before = stored_counts(shared_db_url, tenant.org_id)
    r = _post(api, tenant, "/v1/sessions", **request_kwargs)
    _assert_envelope(r, status, *fragments)
    assert stored_counts(shared_db_url, tenant.org_id) == before == (0, 0)


def test_bad_json_message_does_not_echo_a_traceback_or_internals(api: Proc, tenant: Tenant) -> None:
    r = _post(api, tenant, "/v1/sessions", content=b"\xff\xfe{not json", headers=JSON)
    message = _assert_envelope(r, 400)
    for internal in ("pydantic", 'File "', "site-packages", "Exception"):
        assert internal not in message


def test_2mib_body_without_content_length_is_413_and_stores_nothing(
    api: Proc, tenant: Tenant, shared_db_url: str
) -> None:
    """A chunked upload declares no Content-Length; the limit is enforced on the bytes actually received."""

    def chunks() -> Any:
        yield b'{"input": "'
        for _ in range(32):
            yield b"z" * 65_536
        yield b'"}'

    r = _post(api, tenant, "/v1/sessions", content=chunks(), headers=JSON)
    _assert_envelope(r, 413, "body")
    assert stored_counts(shared_db_url, tenant.org_id) == (0, 0)


def _created(api: Proc, tenant: Tenant) -> str:
    r = _post(api, tenant, "/v1/sessions", json={"input": INCIDENT})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.mark.parametrize(
    ("request_kwargs", "fragments"),
    [
        pytest.param({"json": {"input": ""}}, ("input", "empty"), id="empty"),
        pytest.param({"json": {"input": "   "}}, ("input", "empty"), id="whitespace"),
        pytest.param({"json": {}}, ("input",), id="missing"),
        pytest.param({"json": {"input": ["why?"]}}, ("input",), id="list"),
        pytest.param({"json": ["why?"]}, ("JSON object",), id="array-body"),
        pytest.param({"content": b"{why", "headers": JSON}, ("JSON",), id="malformed-json"),
        pytest.param({"json": {"input": "q" * 100_001}}, ("input", "100000"), id="too-long"),
    ],
)
def test_bad_follow_up_is_400_naming_the_field_and_stores_nothing(
    api: Proc, tenant: Tenant, shared_db_url: str, request_kwargs: dict[str, Any], fragments: tuple[str, ...]
) -> None:
    sid = _created(api, tenant)
    wait_status(api.base_url, tenant.headers(), sid)  # the answer is stored: nothing else changes the counts
    before = stored_counts(shared_db_url, tenant.org_id)
    assert before == (1, 2)
    r = _post(api, tenant, f"/v1/sessions/{sid}/messages", **request_kwargs)
    _assert_envelope(r, 400, *fragments)
    assert stored_counts(shared_db_url, tenant.org_id) == before


@pytest.mark.parametrize("session_id", ["not-a-uuid", "1' OR '1'='1", "12345", "%00", "a" * 300])
def test_follow_up_on_a_malformed_session_id_is_404_and_stores_nothing(
    api: Proc, tenant: Tenant, shared_db_url: str, session_id: str
) -> None:
    r = _post(api, tenant, f"/v1/sessions/{session_id}/messages", json={"input": "why?"})
    _assert_envelope(r, 404, "not found")
    assert stored_counts(shared_db_url, tenant.org_id) == (0, 0)


def test_get_on_a_malformed_session_id_is_404(api: Proc, tenant: Tenant) -> None:
    r = httpx.get(f"{api.base_url}/v1/sessions/not-a-uuid", headers=tenant.headers(), timeout=10)
    _assert_envelope(r, 404, "not found")


# --- at the limits: accepted ---------------------------------------------------------------------------------


def test_unicode_and_emoji_input_and_title_are_stored_verbatim(api: Proc, tenant: Tenant, shared_db_url: str) -> None:
    text = "Paiement échoue 💳🔥 — 支付服务 500 错误 since 14:30 UTC; ошибка 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u200d👩‍💻"
    title = "Zahlungsfehler 💥 ü"
    r = _post(api, tenant, "/v1/sessions", json={"input": text, "title": title, "tags": ["💳", "naïve"]})
    assert "Traceback" not in r.text
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["input"], created["title"], created["tags"]) == (text, title, ["💳", "naïve"])
    got = httpx.get(f"{api.base_url}/v1/sessions/{created['id']}", headers=tenant.headers(), timeout=10).json()
    assert (got["input"], got["title"]) == (text, title)
    assert got["messages"][0]["markdown_content"] == text
    assert stored_counts(shared_db_url, tenant.org_id)[0] == 1


def test_unicode_input_gets_a_unicode_title(api: Proc, tenant: Tenant) -> None:
    r = _post(api, tenant, "/v1/sessions", json={"input": "🔥 Checkout en panne. Les paiements échouent."})
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "🔥 Checkout en panne"


def test_title_of_exactly_256_and_key_of_exactly_128_are_accepted(
    api: Proc, tenant: Tenant, shared_db_url: str
) -> None:
    title = ("Ünïcødé outage 🔥 " * 20)[:256]
    key = ("ключ-🔑-" * 20)[:128]
    assert (len(title), len(key)) == (256, 128)
    r = _post(api, tenant, "/v1/sessions", json={"input": INCIDENT, "title": title, "idempotency_key": key})
    assert "Traceback" not in r.text
    assert r.status_code == 201, r.text
    assert r.json()["title"] == title
    again = _post(api, tenant, "/v1/sessions", json={"input": "other", "idempotency_key": key})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == r.json()["id"]
    assert stored_counts(shared_db_url, tenant.org_id)[0] == 1


def test_input_of_exactly_the_maximum_length_is_accepted(api: Proc, tenant: Tenant) -> None:
    r = _post(api, tenant, "/v1/sessions", json={"input": "checkout errors " + "x" * (100_000 - 16)})
    assert r.status_code == 201, r.text[:300]
    assert len(r.json()["input"]) == 100_000


def test_unknown_fields_are_ignored(api: Proc, tenant: Tenant) -> None:
    r = _post(api, tenant, "/v1/sessions", json={"input": INCIDENT, "priority": "p1", "assignee": {"id": 3}})
    assert r.status_code == 201, r.text
    assert "priority" not in r.json() and "assignee" not in r.json()


@pytest.mark.parametrize(
    ("field", "body"),
    [
        pytest.param("input", {"input": "checkout\u0000 is down"}, id="input"),
        pytest.param("title", {"input": INCIDENT, "title": "nul\u0000title"}, id="title"),
        pytest.param("idempotency_key", {"input": INCIDENT, "idempotency_key": "nul\u0000key"}, id="key"),
        pytest.param("tags", {"input": INCIDENT, "tags": ["nul\u0000tag"]}, id="tags"),
        pytest.param(
            "capabilities",
            {"input": INCIDENT, "capabilities": [{"ref": "logs", "config": {"note": "a\u0000b"}}]},
            id="capabilities",
        ),
    ],
)
def test_nul_character_is_a_400_naming_the_field_on_both_databases(
    api: Proc, tenant: Tenant, shared_db_url: str, field: str, body: dict[str, Any]
) -> None:
    """PostgreSQL text and jsonb cannot hold NUL (SQLite can): both databases answer the same 400 naming the field,
    never a 5xx, and store nothing."""
    r = _post(api, tenant, "/v1/sessions", json=body)
    message = _assert_envelope(r, 400, field)
    assert "NUL" in message
    assert stored_counts(shared_db_url, tenant.org_id) == (0, 0)


# --- incident times -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "time",
    [
        "0001-01-01T00:00:00+01:00",  # out of range once converted to UTC (was an OverflowError, a 500)
        "9999-12-31T23:59:59-01:00",
        "0806-08-03T02:50:47Z",  # was echoed as '806-08-03...', not RFC 3339
        "1969-12-31T23:59:59Z",
        "2201-01-01T00:00:00Z",
    ],
)
def test_time_outside_the_supported_years_is_400_naming_time(
    api: Proc, tenant: Tenant, shared_db_url: str, time: str
) -> None:
    r = _post(api, tenant, "/v1/sessions", json={"input": INCIDENT, "time": time})
    _assert_envelope(r, 400, "time")
    assert stored_counts(shared_db_url, tenant.org_id) == (0, 0)


@pytest.mark.parametrize(
    ("time", "echoed"),
    [
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z"),
        ("2024-03-15T16:30:00+02:00", "2024-03-15T14:30:00.000Z"),
        ("2024-03-15T14:30:00", "2024-03-15T14:30:00.000Z"),  # no offset: read as UTC
    ],
)
def test_time_is_echoed_as_rfc3339_utc(api: Proc, tenant: Tenant, time: str, echoed: str) -> None:
    r = _post(api, tenant, "/v1/sessions", json={"input": INCIDENT, "time": time})
    assert r.status_code == 201, r.text
    assert r.json()["time"] == echoed


# --- list paging -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{"page": 2**63 - 1}, {"page": 2**62, "limit": 1000}])
def test_list_page_beyond_any_offset_is_an_empty_page(api: Proc, tenant: Tenant, params: dict[str, int]) -> None:
    r = httpx.get(f"{api.base_url}/v1/sessions", params=params, headers=tenant.headers(), timeout=10)
    assert r.status_code == 200, r.text
    assert (r.json()["sessions"], r.json()["next"], r.json()["prev"]) == ([], None, params["page"] - 1)


@pytest.mark.parametrize("page", [2**63, 2**70])
def test_list_page_past_64_bits_is_400_naming_page(api: Proc, tenant: Tenant, page: int) -> None:
    r = httpx.get(f"{api.base_url}/v1/sessions", params={"page": page}, headers=tenant.headers(), timeout=10)
    _assert_envelope(r, 400, "page")


@pytest.mark.parametrize("params", [{"page": 1_000_000}, {"page": 10**9, "limit": 1000}])
def test_list_page_far_past_the_end_is_an_empty_page(api: Proc, tenant: Tenant, params: dict[str, int]) -> None:
    r = httpx.get(f"{api.base_url}/v1/sessions", params=params, headers=tenant.headers(), timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["sessions"], body["count"], body["next"], body["total"]) == ([], 0, None, 0)
    assert body["prev"] == params["page"] - 1
