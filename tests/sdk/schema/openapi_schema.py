"""Validates response bodies against Stripe's OpenAPI subset.

The subset is kept in the repository, at
``tests/schema/stripe-openapi-subset.json`` (see tests/schema/README.md for
its source). Set ``TOPUPS_MOCK_OPENAPI`` to use another copy.

OpenAPI 3.0 is not quite JSON Schema, so the component schemas are converted
once on load:

* ``nullable: true`` becomes ``anyOf: [<schema>, {"type": "null"}]``;
* ``$ref: "#/components/schemas/X"`` becomes ``$ref: "#/$defs/X"``;
* ``x-*`` extensions and descriptions are dropped.

A 2xx body is checked against the 200 response schema of the matching
operation in the spec (so ``GET /v1/topups`` must be a list of ``topup``,
``POST /v1/topups/{topup}/cancel`` a ``topup``...). Any other status must be
an ``error``. Mock-only endpoints (``/v1/test_helpers/...``) are checked by
the ``object`` they answer with; a mock-only ``list`` (such as
``GET /v1/test_helpers/webhook_deliveries``) checks each item by its own
``object``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import jsonschema

REPO_ROOT = Path(__file__).resolve().parents[3]
# Relative to the repository root, as the project documents it.
SPEC_RELATIVE_PATH = "tests/schema/stripe-openapi-subset.json"

# Schemas of the mock's own objects, which Stripe's spec does not have.
MOCK_SCHEMAS: Dict[str, Any] = {
    "test_helpers.mock_clock": {
        "type": "object",
        "required": ["object", "mode", "now", "now_ms"],
        "properties": {
            "object": {"const": "test_helpers.mock_clock"},
            "mode": {"enum": ["manual", "real"]},
            "now": {"type": "integer"},
            "now_ms": {"type": "integer"},
            "fired": {"type": "integer", "minimum": 0},
        },
    },
    # One attempt to deliver an event to a webhook endpoint, as listed by
    # GET /v1/test_helpers/webhook_deliveries.
    "test_helpers.webhook_delivery": {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "object", "event", "endpoint", "url", "attempt", "status", "error", "response",
            "succeeded", "duration_ms", "created", "next_attempt",
        ],
        "properties": {
            "object": {"const": "test_helpers.webhook_delivery"},
            "event": {"type": "string", "pattern": "^evt_"},
            "endpoint": {"type": "string"},
            "url": {"type": "string"},
            "attempt": {"type": "integer", "minimum": 1},
            "status": {"type": ["integer", "null"]},
            "error": {"type": ["string", "null"]},
            "response": {"type": ["string", "null"]},
            "succeeded": {"type": "boolean"},
            "duration_ms": {"type": "integer", "minimum": 0},
            "created": {"type": "integer"},
            "next_attempt": {"type": ["integer", "null"]},
        },
    },
}

# The envelope of a mock-only list; its items are checked one by one, each by
# the schema named by its own ``object``.
MOCK_LIST_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "required": ["object", "data", "has_more", "url"],
    "properties": {
        "object": {"const": "list"},
        "data": {"type": "array", "items": {"type": "object"}},
        "has_more": {"type": "boolean"},
        "url": {"type": "string"},
    },
}

_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf")
_SCHEMA_SINGLE = ("items", "additionalProperties", "not")
_DROP = ("description", "title", "nullable", "format")


class SchemaViolation(AssertionError):
    """A response body that does not match the spec."""


def spec_path() -> Path:
    override = os.environ.get("TOPUPS_MOCK_OPENAPI")
    if override:
        return Path(override)
    return REPO_ROOT / SPEC_RELATIVE_PATH


def convert(node: Any) -> Any:
    """One OpenAPI 3.0 schema object as a JSON Schema (2020-12) one."""
    if isinstance(node, list):
        return [convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: Dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-") or key in _DROP:
            continue
        if key == "$ref":
            out[key] = value.replace("#/components/schemas/", "#/$defs/")
        elif key in _SCHEMA_MAPS:
            out[key] = {k: convert(v) for k, v in value.items()}
        elif key in _SCHEMA_LISTS:
            out[key] = [convert(v) for v in value]
        elif key in _SCHEMA_SINGLE and isinstance(value, dict):
            out[key] = convert(value)
        else:
            out[key] = value
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


class Operation:
    def __init__(self, method: str, template: str, schema: Any):
        self.method = method
        self.template = template
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        self.regex = re.compile("^" + pattern + "$")
        self.schema = schema


class OpenApiValidator:
    def __init__(self, path: Optional[Path] = None):
        self.path = path or spec_path()
        if not self.path.is_file():
            raise FileNotFoundError(
                f"OpenAPI subset not found at {self.path} "
                f"(expected at <repo root>/{SPEC_RELATIVE_PATH}; "
                "set TOPUPS_MOCK_OPENAPI to override)"
            )
        with open(self.path, encoding="utf-8") as f:
            spec = json.load(f)
        self.defs = {
            name: convert(schema)
            for name, schema in spec["components"]["schemas"].items()
        }
        self.defs.update(MOCK_SCHEMAS)
        self.operations: List[Operation] = []
        for template, ops in spec["paths"].items():
            for method, op in ops.items():
                content = op["responses"]["200"]["content"]["application/json"]
                self.operations.append(
                    Operation(method.upper(), template, convert(content["schema"]))
                )
        # Literal paths before templated ones (/v1/balance/history before .../{id}).
        self.operations.sort(key=lambda o: o.template.count("{"))
        self._validators: Dict[str, jsonschema.protocols.Validator] = {}

    def _validator(self, key: str, schema: Any):
        v = self._validators.get(key)
        if v is None:
            root = dict(schema)
            root["$defs"] = self.defs
            cls = jsonschema.validators.validator_for(
                {"$schema": "https://json-schema.org/draft/2020-12/schema"}
            )
            v = cls(root)
            self._validators[key] = v
        return v

    def validate_named(self, name: str, body: Any, where: str = "") -> None:
        """Validates ``body`` against one component schema, e.g. ``topup``."""
        if name not in self.defs:
            raise SchemaViolation(f"{where}: no schema named {name!r}")
        self._check(f"#/$defs/{name}", {"$ref": f"#/$defs/{name}"}, body, where)

    def schema_for(self, method: str, path: str) -> Tuple[str, Any]:
        for op in self.operations:
            if op.method == method and op.regex.match(path):
                return f"{op.method} {op.template}", op.schema
        raise LookupError(path)

    def validate_response(
        self, method: str, url_path: str, status: int, body: Any
    ) -> str:
        """Checks one decoded response body; returns the schema name used."""
        method = method.upper()
        path = url_path.split("?", 1)[0]
        path = re.sub("/+", "/", path)
        where = f"{method} {path} -> {status}"
        if not isinstance(body, dict):
            raise SchemaViolation(f"{where}: body is not a JSON object: {body!r}")
        if not 200 <= status < 300:
            self.validate_named("error", body, where)
            return "error"
        try:
            key, schema = self.schema_for(method, path)
        except LookupError:
            obj = body.get("object")
            if path.startswith("/v1/test_helpers/") and obj == "list":
                self._check("mock list", MOCK_LIST_SCHEMA, body, where)
                for i, item in enumerate(body["data"]):
                    name = item.get("object")
                    if not isinstance(name, str) or name not in self.defs:
                        raise SchemaViolation(
                            f"{where}: no schema for list item {i} (object {name!r})"
                        )
                    self.validate_named(name, item, f"{where} (data[{i}])")
                return "list"
            if path.startswith("/v1/test_helpers/") and isinstance(obj, str):
                if obj in self.defs:
                    self.validate_named(obj, body, where)
                    return obj
                if obj.startswith("test_helpers."):
                    return obj  # a mock-only object without a schema
            raise SchemaViolation(
                f"{where}: no schema for this endpoint (object {obj!r})"
            )
        self._check(key, schema, body, where)
        return key

    def _check(self, key: str, schema: Any, body: Any, where: str) -> None:
        validator = self._validator(key, schema)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        if errors:
            lines = [
                f"  at /{'/'.join(str(p) for p in e.absolute_path)}: {e.message[:300]}"
                for e in errors[:10]
            ]
            raise SchemaViolation(
                f"{where}: body violates schema {key}:\n"
                + "\n".join(lines)
                + f"\nbody: {json.dumps(body)[:2000]}"
            )
