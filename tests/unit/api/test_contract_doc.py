from __future__ import annotations

from fastapi.exceptions import RequestValidationError

from tracehound.api import contract
from tracehound.api.errors import validation_message


def test_apply_replaces_generated_422_with_400_and_keeps_refs_resolvable() -> None:
    generated = {
        "paths": {
            "/v1/sessions/{session_id}/events": {
                "get": {"responses": {"200": {}, "422": {"$ref": "#/components/schemas/HTTPValidationError"}}}
            }
        },
        "components": {"schemas": {"HTTPValidationError": {}, "ValidationError": {}, "Other": {}}},
    }
    doc = contract.apply(generated)
    op = doc["paths"]["/v1/sessions/{session_id}/events"]["get"]
    assert "422" not in op["responses"]
    assert op["responses"]["400"] == {"$ref": "#/components/responses/BadRequest"}
    assert op["responses"]["404"] == {"$ref": "#/components/responses/NotFound"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert "Other" in doc["components"]["schemas"]
    assert doc["paths"]["/v1/sessions"]["get"]["operationId"] == "listSessions"


def test_validation_message_names_the_field() -> None:
    exc = RequestValidationError(
        [{"type": "string_too_long", "loc": ("body", "title"), "msg": "String should have at most 256 characters"}]
    )
    assert validation_message(exc) == "title: String should have at most 256 characters"


def test_validation_message_for_bad_json() -> None:
    exc = RequestValidationError([{"type": "json_invalid", "loc": ("body", 3), "msg": "x", "ctx": {"error": "bad"}}])
    assert validation_message(exc).startswith("The request body is not valid JSON")


def test_validation_message_indexes_list_items() -> None:
    exc = RequestValidationError(
        [{"type": "dict_type", "loc": ("body", "capabilities", 0), "msg": "Input should be a valid dictionary"}]
    )
    assert validation_message(exc) == "capabilities[0]: Input should be a valid dictionary"
