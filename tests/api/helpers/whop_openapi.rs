//! Validates Whop surface responses (`/api/v1/...`) against Whop's
//! OpenAPI for top-ups, kept in the repository at
//! `tests/schema/whop-openapi-topups.yaml` (see tests/schema/README.md).
//!
//! The file is OpenAPI 3.1, whose schemas are JSON Schema: component
//! `$ref`s are pointed at `$defs` and examples dropped, nothing else. A
//! 2xx top-up must be Whop's `Topup` (with exactly its documented keys);
//! any other status, the error body of Whop's responses. The mock's own
//! endpoints (the list and the test helpers' clock) are checked against
//! schemas written here, which build on `Topup`.

use jsonschema::Validator;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::LazyLock;

pub const SPEC_RELATIVE_PATH: &str = "tests/schema/whop-openapi-topups.yaml";

fn convert(node: &Value) -> Value {
    match node {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("example" | "description", _) => {}
                    ("$ref", Value::String(r)) => {
                        out.insert(
                            k.clone(),
                            json!(r.replace("#/components/schemas/", "#/$defs/")),
                        );
                    }
                    _ => {
                        out.insert(k.clone(), convert(v));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(convert).collect()),
        other => other.clone(),
    }
}

pub struct WhopValidator {
    topup: Validator,
    error: Validator,
    list: Validator,
    clock: Validator,
    topup_keys: Vec<String>,
}

impl WhopValidator {
    fn load() -> Result<WhopValidator, String> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SPEC_RELATIVE_PATH);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let spec: Value =
            serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let defs = convert(&spec["components"]["schemas"]);
        let op = &spec["paths"]["/topups"]["post"]["responses"];
        let compile = |schema: Value| -> Result<Validator, String> {
            let mut schema = schema;
            schema["$defs"] = defs.clone();
            jsonschema::validator_for(&schema).map_err(|e| e.to_string())
        };
        let topup_ref = convert(&op["200"]["content"]["application/json"]["schema"]);
        if topup_ref.is_null() {
            return Err("no 200 schema for POST /topups".into());
        }
        let error = convert(&op["400"]["content"]["application/json"]["schema"]);
        // Every documented error status shares one body.
        for status in ["401", "403", "404", "422", "500"] {
            if convert(&op[status]["content"]["application/json"]["schema"]) != error {
                return Err(format!("error {status} differs from 400"));
            }
        }
        let topup_keys = spec["components"]["schemas"]["Topup"]["required"]
            .as_array()
            .ok_or("Topup.required")?
            .iter()
            .filter_map(|k| k.as_str().map(String::from))
            .collect();
        Ok(WhopValidator {
            topup: compile(topup_ref.clone())?,
            error: compile(error)?,
            list: compile(json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["data", "page_info"],
                "properties": {
                    "data": {"type": "array", "items": topup_ref},
                    "page_info": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["end_cursor", "start_cursor", "has_next_page", "has_previous_page"],
                        "properties": {
                            "end_cursor": {"type": ["string", "null"]},
                            "start_cursor": {"type": ["string", "null"]},
                            "has_next_page": {"type": "boolean"},
                            "has_previous_page": {"type": "boolean"},
                        },
                    },
                },
            }))?,
            clock: compile(json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["object", "mode", "now", "now_ms"],
                "properties": {
                    "object": {"const": "test_helpers.mock_clock"},
                    "mode": {"enum": ["manual", "real"]},
                    "now": {"type": "string", "format": "date-time"},
                    "now_ms": {"type": "integer"},
                    "fired": {"type": "integer", "minimum": 0},
                },
            }))?,
            topup_keys,
        })
    }

    fn check_topup(&self, body: &Value) -> Result<(), String> {
        check(&self.topup, body)?;
        let mut keys: Vec<&String> = body
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        let mut want: Vec<&String> = self.topup_keys.iter().collect();
        keys.sort();
        want.sort();
        if keys != want {
            return Err(format!("keys {keys:?} are not Topup's {want:?}"));
        }
        Ok(())
    }

    pub fn check_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), String> {
        let path = path.split('?').next().unwrap_or_default();
        if !(200..300).contains(&status) {
            return check(&self.error, body);
        }
        let segments: Vec<&str> = path.trim_start_matches("/api/v1/").split('/').collect();
        match (method, segments.as_slice()) {
            ("POST", ["topups"]) | ("GET", ["topups", _]) => self.check_topup(body),
            ("POST", ["test_helpers", "topups", _, _]) => self.check_topup(body),
            ("GET", ["topups"]) => {
                check(&self.list, body)?;
                body["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .try_for_each(|t| self.check_topup(t))
            }
            (_, ["test_helpers", "clock", ..]) => check(&self.clock, body),
            ("POST", ["test_helpers", "reset"]) => Ok(()),
            _ => Err("no schema for this endpoint".into()),
        }
    }
}

fn check(v: &Validator, body: &Value) -> Result<(), String> {
    let errors: Vec<String> = v
        .iter_errors(body)
        .take(5)
        .map(|e| format!("at {}: {e}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

static VALIDATOR: LazyLock<Result<WhopValidator, String>> = LazyLock::new(WhopValidator::load);

/// Panics, naming the request, if the body does not match Whop's schema.
#[track_caller]
pub fn assert_conforms(method: &str, url_path: &str, status: u16, body: &Value) {
    let validator = match &*VALIDATOR {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    if let Err(msg) = validator.check_response(&method.to_uppercase(), url_path, status, body) {
        panic!(
            "Whop OpenAPI schema violation: {method} {url_path} -> {status}: {msg}\nbody: {body}"
        );
    }
}
