"""The seed contract (Traversal's published OpenAPI for the V1 Sessions API) and JSON Schema validation against it.

``jsonschema_rs`` (the validator schemathesis 4 ships with) checks instances against the seed's component schemas
with Draft 2020-12 semantics (OpenAPI 3.1 schemas are 2020-12 schemas). The whole ``components`` object is embedded
in the validated schema, so the seed's ``#/components/schemas/...`` references resolve unchanged.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

SEED_PATH = Path(__file__).resolve().parent.parent / "contract" / "traversal_openapi.yaml"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


@cache
def seed() -> dict[str, Any]:
    with SEED_PATH.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    assert isinstance(doc, dict)
    return doc


def validator(schema_name: str) -> Any:
    """A Draft 2020-12 validator for ``#/components/schemas/<schema_name>`` of the seed, formats enforced."""
    components = seed()["components"]
    assert schema_name in components["schemas"], schema_name
    schema = {
        "$schema": DRAFT_2020_12,
        "components": {"schemas": components["schemas"]},
        "$ref": f"#/components/schemas/{schema_name}",
    }
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


def schema_errors(schema_name: str, instance: Any) -> list[str]:
    """Every way ``instance`` violates the seed's ``schema_name`` (empty when it conforms)."""
    return [
        f"{'/'.join(map(str, e.instance_path)) or '<root>'}: {e.message}"
        for e in validator(schema_name).iter_errors(instance)
    ]
