"""The OpenAPI document of the V1 API, written to match Traversal's published contract exactly (the seed's
``Session``, ``Message``, ``Error``, ``SessionStatus``, ``SessionList`` schemas and the list operation), plus
tracehound's additive fields and the operations the seed documents in prose."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

DT_NULL = {"type": ["string", "null"], "format": "date-time"}

SESSION_STATUS = {
    "type": "string",
    "enum": ["running", "idle", "follow_up_running", "failed"],
    "description": "- `running` — a new investigation is in progress.\n"
    "- `idle` — investigation is complete and ready for follow-ups.\n"
    "- `follow_up_running` — a follow-up message is being processed.\n"
    "- `failed` — the investigation or follow-up errored or timed out.\n",
}

MESSAGE = {
    "type": "object",
    "required": ["id", "role", "markdown_content", "created_at"],
    "properties": {
        "id": {"type": "string", "description": "Unique message identifier.", "example": "msg-001-uuid"},
        "role": {
            "type": "string",
            "enum": ["user", "assistant"],
            "description": "The author of the message.",
        },
        "markdown_content": {"type": "string", "description": "Message content in Markdown."},
        "created_at": {
            "type": "string",
            "format": "date-time",
            "description": "When the message was created (UTC).",
        },
    },
}

SESSION = {
    "type": "object",
    "required": ["id", "status", "input", "created_at"],
    "properties": {
        "id": {"type": "string", "format": "uuid", "description": "Unique session identifier."},
        "status": {"$ref": "#/components/schemas/SessionStatus"},
        "title": {"type": ["string", "null"], "description": "Human-readable session title."},
        "input": {"type": "string", "description": "The original incident description or question."},
        "created_at": {
            "type": "string",
            "format": "date-time",
            "description": "When the session was created (UTC).",
        },
        "updated_at": {**DT_NULL, "description": "When the session was last updated (UTC)."},
        "messages": {
            "type": ["array", "null"],
            "description": "Conversation history. Only populated on `GET /v1/sessions/{session_id}`.",
            "items": {"$ref": "#/components/schemas/Message"},
        },
        # --- additive (tracehound / Everruns-style) ---
        "time": {**DT_NULL, "description": "The incident time given on create (UTC), if any."},
        "thinking_mode": {
            "type": "string",
            "enum": ["auto", "deep", "fast"],
            "description": "The thinking mode of the latest turn.",
        },
        "tags": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Tags for organizing sessions.",
        },
        "started_at": {**DT_NULL, "description": "When the investigation started executing."},
        "finished_at": {**DT_NULL, "description": "When the last turn finished (completed or failed)."},
        "preview": {"type": ["string", "null"], "description": "The first user message, truncated."},
        "output_preview": {
            "type": ["string", "null"],
            "description": "The last assistant answer, truncated.",
        },
        "usage": {
            "type": ["object", "null"],
            "description": "What the investigation consumed: data points, log lines, spans, queries, wall time, and "
            "LLM tokens (llm_prompt_tokens, llm_completion_tokens) when a language model was used.",
            "additionalProperties": True,
        },
        "report": {
            "type": ["object", "null"],
            "description": "The structured report (root cause, confidence, candidates, evidence, timeline). "
            "Only populated on `GET /v1/sessions/{session_id}`.",
            "additionalProperties": True,
        },
        "alert": {
            "type": ["object", "null"],
            "description": "The alert that opened the session (Alertmanager or PagerDuty), if any: `source`, "
            "`integration_id`, `status` (`firing` or `resolved`), `started_at`, `resolved_at`, `notifications`, "
            "`group_key` or `incident_id`, `url`.",
            "additionalProperties": True,
        },
    },
}

FOLLOW_UP_RESPONSE = {
    "allOf": [
        {"$ref": "#/components/schemas/Session"},
        {
            "type": "object",
            "required": ["user_message_id", "assistant_message_id"],
            "properties": {
                "user_message_id": {"type": "string", "description": "The recorded user message."},
                "assistant_message_id": {
                    "type": "string",
                    "description": "The assistant message that will hold the answer once the session is idle.",
                },
            },
        },
    ]
}

SESSION_LIST = {
    "type": "object",
    "required": ["sessions", "count", "total"],
    "properties": {
        "sessions": {
            "type": "array",
            "description": "Sessions on the current page.",
            "items": {"$ref": "#/components/schemas/Session"},
        },
        "count": {"type": "integer", "description": "Number of sessions on this page."},
        "prev": {"type": ["integer", "null"], "description": "Previous page number. `null` if first page."},
        "next": {"type": ["integer", "null"], "description": "Next page number. `null` if last page."},
        "total": {"type": "integer", "description": "Total sessions across all pages."},
    },
}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message"],
            "properties": {
                "message": {"type": "string", "description": "Human-readable explanation of the error."},
                "retry_after": {
                    "type": ["integer", "null"],
                    "description": "Suggested seconds to wait before retrying. Present on `429` and `409` "
                    "responses. When set, the response also includes a standard `Retry-After` HTTP header "
                    "with the same value.",
                },
            },
        }
    },
}

THINKING_MODE_FIELD = {
    "type": ["string", "null"],
    "enum": ["auto", "deep", "fast", None],
    "description": "`auto` (default) chooses from the request; `deep` forces a thorough root-cause analysis "
    "(needs a start time, and asks for one when there is none); `fast` is a quick exploratory pass.",
}

SESSION_CREATE = {
    "type": "object",
    "required": ["input"],
    "properties": {
        "input": {"type": "string", "minLength": 1, "description": "The incident description or question."},
        "title": {"type": ["string", "null"], "maxLength": 256, "description": "Auto-generated if omitted."},
        "time": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "ISO-8601 timestamp of when the incident occurred.",
        },
        "idempotency_key": {
            "type": ["string", "null"],
            "minLength": 1,
            "maxLength": 128,
            "description": "Same key returns the original session with 200 OK.",
        },
        "tags": {
            "type": ["array", "null"],
            "maxItems": 20,
            "items": {"type": "string", "minLength": 1, "maxLength": 64},
        },
        "thinking_mode": THINKING_MODE_FIELD,
    },
}

MESSAGE_CREATE = {
    "type": "object",
    "required": ["input"],
    "properties": {
        "input": {"type": "string", "minLength": 1, "description": "The follow-up question."},
        "thinking_mode": THINKING_MODE_FIELD,
    },
}


def _err(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


RESPONSES = {
    "BadRequest": _err("The request is invalid; the message names the field."),
    "Unauthorized": _err("Missing, invalid, or revoked API key."),
    "Forbidden": _err("V1 API not enabled for the organization, or the authenticated user has insufficient role."),
    "NotFound": _err("Session does not exist or does not belong to your organization."),
    "Conflict": _err("Session is not `idle`. Includes `retry_after`."),
    "PayloadTooLarge": _err("The request body is larger than the server accepts (1 MiB by default)."),
    "TooManyRequests": _err(
        "Organization has reached its limit of concurrent running sessions. Includes `retry_after` (default 30s)."
    ),
    "InternalServerError": _err("An unexpected error occurred on the server."),
    "ServiceUnavailable": _err("The database or the workflow engine is unavailable."),
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _json_body(schema: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


SESSION_ID_PARAM = {
    "name": "session_id",
    "in": "path",
    "required": True,
    "description": "The session's UUID.",
    "schema": {"type": "string"},
}

PATHS: dict[str, Any] = {
    "/v1/sessions": {
        "get": {
            "tags": ["Sessions"],
            "summary": "List sessions",
            "description": "Returns sessions created via the V1 API, scoped to the authenticated\nuser's "
            "organization. Sessions created in the web app are not included.\n\nIf `page` and `limit` are both "
            "omitted, all sessions are returned in a\nsingle response.\n",
            "operationId": "listSessions",
            "parameters": [
                {
                    "name": "page",
                    "in": "query",
                    "required": False,
                    "description": "Page number (1-indexed).",
                    "schema": {"type": "integer", "minimum": 1},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "description": "Number of sessions per page.",
                    "schema": {"type": "integer", "minimum": 1},
                },
            ],
            "responses": {
                "200": _ok("A page of sessions.", "SessionList"),
                "400": _ref("BadRequest"),
                "401": _ref("Unauthorized"),
                "403": _ref("Forbidden"),
                "500": _ref("InternalServerError"),
                "503": _ref("ServiceUnavailable"),
            },
        },
        "post": {
            "tags": ["Sessions"],
            "summary": "Create a session",
            "description": "Starts a new investigation and returns at once; poll `GET /v1/sessions/{session_id}`.",
            "operationId": "createSession",
            "requestBody": _json_body("SessionCreate"),
            "responses": {
                "200": _ok("Idempotency key matched an existing session; it is returned unchanged.", "Session"),
                "201": _ok("The session was created and is `running`.", "Session"),
                "400": _ref("BadRequest"),
                "401": _ref("Unauthorized"),
                "403": _ref("Forbidden"),
                "413": _ref("PayloadTooLarge"),
                "429": _ref("TooManyRequests"),
                "500": _ref("InternalServerError"),
                "503": _ref("ServiceUnavailable"),
            },
        },
    },
    "/v1/sessions/{session_id}": {
        "get": {
            "tags": ["Sessions"],
            "summary": "Get a session",
            "operationId": "getSession",
            "parameters": [SESSION_ID_PARAM],
            "responses": {
                "200": _ok("The session with its messages.", "Session"),
                "401": _ref("Unauthorized"),
                "403": _ref("Forbidden"),
                "404": _ref("NotFound"),
                "500": _ref("InternalServerError"),
                "503": _ref("ServiceUnavailable"),
            },
        }
    },
    "/v1/sessions/{session_id}/messages": {
        "post": {
            "tags": ["Sessions"],
            "summary": "Send a follow-up",
            "operationId": "createMessage",
            "parameters": [SESSION_ID_PARAM],
            "requestBody": _json_body("MessageCreate"),
            "responses": {
                "202": _ok("The follow-up was accepted; the session is `follow_up_running`.", "FollowUpResponse"),
                "400": _ref("BadRequest"),
                "401": _ref("Unauthorized"),
                "403": _ref("Forbidden"),
                "404": _ref("NotFound"),
                "409": _ref("Conflict"),
                "413": _ref("PayloadTooLarge"),
                "429": _ref("TooManyRequests"),
                "500": _ref("InternalServerError"),
                "503": _ref("ServiceUnavailable"),
            },
        }
    },
}

SCHEMAS = {
    "SessionList": SESSION_LIST,
    "Session": SESSION,
    "Error": ERROR,
    "SessionStatus": SESSION_STATUS,
    "Message": MESSAGE,
    "SessionCreate": SESSION_CREATE,
    "MessageCreate": MESSAGE_CREATE,
    "FollowUpResponse": FOLLOW_UP_RESPONSE,
}


def apply(doc: dict[str, Any]) -> dict[str, Any]:
    """Replace the generated V1 paths and schemas with the contract above."""
    doc = deepcopy(doc)
    doc["openapi"] = "3.1.0"
    doc["info"] = {
        "title": "tracehound Sessions API (Traversal V1 compatible)",
        "version": "1.0.0",
        "description": "Launch investigations, send follow-up questions, and retrieve results. All /v1 endpoints "
        "require a Bearer token (`trv_ak_...`); the V1 API must be enabled for the organization.",
    }
    doc["paths"] = {**{k: v for k, v in doc.get("paths", {}).items() if k not in PATHS}, **deepcopy(PATHS)}
    for path, ops in doc["paths"].items():
        for op in ops.values():
            responses = op.setdefault("responses", {})
            if responses.pop("422", None) is not None:
                responses["400"] = _ref("BadRequest")
            if path.startswith("/v1/"):
                op.setdefault("security", [{"bearerAuth": []}])
                for code, name in (
                    ("401", "Unauthorized"),
                    ("403", "Forbidden"),
                    ("500", "InternalServerError"),
                    ("503", "ServiceUnavailable"),
                ):
                    responses.setdefault(code, _ref(name))
                if "{" in path:
                    responses.setdefault("404", _ref("NotFound"))
    components = doc.setdefault("components", {})
    generated = {
        k: v for k, v in components.get("schemas", {}).items() if k not in ("HTTPValidationError", "ValidationError")
    }
    components["schemas"] = {**generated, **deepcopy(SCHEMAS)}
    components["responses"] = deepcopy(RESPONSES)
    components["securitySchemes"] = {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "Bearer token in the `Authorization` header, e.g. "
            "`Authorization: Bearer trv_ak_...`. Each key is bound to a user and an organization.",
        }
    }
    return doc
