"""Our /openapi.json against Traversal's published contract (tests/contract/traversal_openapi.yaml, a verbatim copy
of the seed), and real responses of a running server validated against the seed's schemas."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.support.contract import schema_errors, seed
from tests.support.polling import wait_status
from tests.support.servers import Proc
from tests.support.tenants import Tenant

SEED_SCHEMAS = ("Session", "SessionList", "Message", "Error", "SessionStatus")
COMPARED_KEYWORDS = ("type", "format", "enum", "$ref", "items")
INCIDENT = "Checkout is returning 500 errors since 14:30 UTC. Error rate jumped from 0.1% to 15%."


@pytest.fixture(scope="module")
def ours(api: Proc) -> dict[str, Any]:
    r = httpx.get(f"{api.base_url}/openapi.json", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    doc: dict[str, Any] = r.json()
    return doc


def _deref(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (e.g. a ``#/components/responses/...`` object) to what it names."""
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _keywords(definition: dict[str, Any]) -> dict[str, Any]:
    return {k: definition[k] for k in COMPARED_KEYWORDS if k in definition}


def test_the_seed_copy_is_the_traversal_list_contract() -> None:
    doc = seed()
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] == "Traversal Sessions API"
    assert list(doc["paths"]) == ["/v1/sessions"]
    assert set(doc["components"]["schemas"]) == set(SEED_SCHEMAS)


def test_openapi_is_3_1_with_bearer_auth(ours: dict[str, Any]) -> None:
    assert ours["openapi"] == "3.1.0"
    scheme = ours["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert ours["paths"]["/v1/sessions"]["get"]["security"] == [{"bearerAuth": []}]


def test_list_operation_has_the_seed_operation_id_and_parameters(ours: dict[str, Any]) -> None:
    theirs_op = seed()["paths"]["/v1/sessions"]["get"]
    ours_op = ours["paths"]["/v1/sessions"]["get"]
    assert ours_op["operationId"] == theirs_op["operationId"] == "listSessions"

    def params(op: dict[str, Any]) -> dict[tuple[str, str], tuple[bool, dict[str, Any]]]:
        return {(p["name"], p["in"]): (p.get("required", False), p["schema"]) for p in op["parameters"]}

    assert params(ours_op) == params(theirs_op)


def test_list_operation_documents_every_seed_response_code(ours: dict[str, Any]) -> None:
    theirs_op = seed()["paths"]["/v1/sessions"]["get"]
    ours_op = ours["paths"]["/v1/sessions"]["get"]
    missing = set(theirs_op["responses"]) - set(ours_op["responses"])
    assert not missing, f"response codes of the seed missing from ours: {sorted(missing)}"
    for code in theirs_op["responses"]:
        theirs_resp = _deref(seed(), theirs_op["responses"][code])
        ours_resp = _deref(ours, ours_op["responses"][code])
        theirs_schema = theirs_resp["content"]["application/json"]["schema"]
        assert ours_resp["content"]["application/json"]["schema"] == theirs_schema, code


@pytest.mark.parametrize("name", SEED_SCHEMAS)
def test_every_seed_schema_exists_with_the_same_required_and_property_definitions(
    ours: dict[str, Any], name: str
) -> None:
    theirs_schema = seed()["components"]["schemas"][name]
    ours_schema = ours["components"]["schemas"].get(name)
    assert ours_schema is not None, f"schema {name} is missing from /openapi.json"
    assert _keywords(ours_schema) == _keywords(theirs_schema)
    assert ours_schema.get("required") == theirs_schema.get("required")
    ours_props = ours_schema.get("properties", {})
    for prop, definition in theirs_schema.get("properties", {}).items():
        assert prop in ours_props, f"{name}.{prop} is missing"
        assert _keywords(ours_props[prop]) == _keywords(definition), f"{name}.{prop}"
        # Nested objects (Error.error) are compared one level further down.
        if "properties" in definition:
            assert ours_props[prop].get("required") == definition.get("required"), f"{name}.{prop}"
            for sub, sub_def in definition["properties"].items():
                assert _keywords(ours_props[prop]["properties"][sub]) == _keywords(sub_def), f"{name}.{prop}.{sub}"


def test_session_extra_properties_are_only_additive(ours: dict[str, Any]) -> None:
    """Our Session may carry more fields, but never makes one of them required (old clients keep working)."""
    theirs_session = seed()["components"]["schemas"]["Session"]
    ours_session = ours["components"]["schemas"]["Session"]
    extra = set(ours_session["properties"]) - set(theirs_session["properties"])
    assert not extra & set(ours_session["required"])
    assert ours_session.get("additionalProperties", True) is not False


# --- real responses against the seed's schemas -------------------------------------------------------------------


def _conforms(schema: str, body: Any) -> None:
    errors = schema_errors(schema, body)
    assert not errors, f"{schema} violations: {errors}\nbody: {body}"


def test_created_session_conforms_to_the_seed_session(api: Proc, tenant: Tenant) -> None:
    r = httpx.post(
        f"{api.base_url}/v1/sessions",
        json={"input": INCIDENT, "time": "2024-03-15T14:30:00Z"},
        headers=tenant.headers(),
        timeout=30,
    )
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/json")
    _conforms("Session", r.json())
    assert r.json()["messages"] is None


def test_got_session_with_messages_conforms_to_the_seed_session(api: Proc, tenant: Tenant) -> None:
    created = httpx.post(
        f"{api.base_url}/v1/sessions", json={"input": INCIDENT}, headers=tenant.headers(), timeout=30
    ).json()
    wait_status(api.base_url, tenant.headers(), created["id"])
    r = httpx.get(f"{api.base_url}/v1/sessions/{created['id']}", headers=tenant.headers(), timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    _conforms("Session", body)
    assert len(body["messages"]) == 2
    for message in body["messages"]:
        _conforms("Message", message)


def test_session_list_conforms_to_the_seed_session_list(api: Proc, tenant: Tenant) -> None:
    for i in range(3):
        r = httpx.post(
            f"{api.base_url}/v1/sessions",
            json={"input": f"{INCIDENT} #{i}"},
            headers=tenant.headers(),
            timeout=30,
        )
        assert r.status_code == 201, r.text
    everything = httpx.get(f"{api.base_url}/v1/sessions", headers=tenant.headers(), timeout=10)
    assert everything.status_code == 200, everything.text
    _conforms("SessionList", everything.json())
    assert everything.json()["total"] == 3
    paged = httpx.get(
        f"{api.base_url}/v1/sessions", params={"page": 2, "limit": 2}, headers=tenant.headers(), timeout=10
    )
    assert paged.status_code == 200, paged.text
    _conforms("SessionList", paged.json())
    assert (paged.json()["count"], paged.json()["prev"], paged.json()["next"]) == (1, 1, None)


def test_empty_session_list_conforms(api: Proc, tenant: Tenant) -> None:
    r = httpx.get(f"{api.base_url}/v1/sessions", headers=tenant.headers(), timeout=10)
    assert r.status_code == 200, r.text
    _conforms("SessionList", r.json())
    assert r.json() == {"sessions": [], "count": 0, "prev": None, "next": None, "total": 0}


def test_404_is_the_seed_error(api: Proc, tenant: Tenant) -> None:
    r = httpx.get(f"{api.base_url}/v1/sessions/{uuid.uuid4()}", headers=tenant.headers(), timeout=10)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    _conforms("Error", r.json())
    assert r.json()["error"]["retry_after"] is None


def test_401_is_the_seed_error(api: Proc) -> None:
    r = httpx.get(f"{api.base_url}/v1/sessions", timeout=10)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/json")
    _conforms("Error", r.json())


def test_403_for_a_member_listing_is_the_seed_error(api: Proc, tenant: Tenant) -> None:
    r = httpx.get(f"{api.base_url}/v1/sessions", headers=tenant.headers(admin=False), timeout=10)
    assert r.status_code == 403
    _conforms("Error", r.json())


def test_the_validator_rejects_what_the_seed_forbids() -> None:
    """Guards the guard: a response that breaks the seed must not pass the validation used above."""
    bad_session = {
        "id": "not-a-uuid",
        "status": "done",
        "input": 1,
        "created_at": "yesterday",
        "messages": [{"id": "m", "role": "bot"}],
    }
    errors = schema_errors("Session", bad_session)
    for fragment in ("id", "status", "input", "created_at", "messages/0"):
        assert any(e.startswith(fragment) for e in errors), (fragment, errors)
    assert schema_errors("Error", {"error": {"retry_after": "soon"}})
    assert schema_errors("SessionList", {"sessions": [], "count": 0})


def test_metrics_documents_the_content_type_it_answers_with(api: Proc, ours: dict[str, Any]) -> None:
    r = httpx.get(f"{api.base_url}/metrics", timeout=10)
    assert r.status_code == 200
    documented = set(ours["paths"]["/metrics"]["get"]["responses"]["200"]["content"])
    assert r.headers["content-type"].split(";")[0] in documented
