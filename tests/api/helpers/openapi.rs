//! Validates response bodies against Stripe's OpenAPI subset (the Rust twin
//! of tests/sdk/schema/openapi_schema.py; keep them in step).
//!
//! The subset is kept in the repository, at
//! `tests/schema/stripe-openapi-subset.json` (see tests/schema/README.md for
//! its source). Set `TOPUPS_MOCK_OPENAPI` to use another copy.
//!
//! OpenAPI 3.0 is not quite JSON Schema, so the component schemas are
//! converted once on load:
//!
//! * `nullable: true` becomes `anyOf: [<schema>, {"type": "null"}]`;
//! * `$ref: "#/components/schemas/X"` becomes `$ref: "#/$defs/X"`, and every
//!   compiled schema carries the converted components as its `$defs`;
//! * `x-*` extensions, descriptions, titles and formats are dropped.
//!
//! A 2xx body is checked against the 200 response schema of the matching
//! operation in the spec (so `GET /v1/topups` must be a list of `topup`,
//! `POST /v1/topups/{topup}/cancel` a `topup`...). Any other status must be
//! an `error`. Mock-only endpoints (`/v1/test_helpers/...`) are checked by
//! the `object` they answer with.
//!
//! The spec is read and every schema compiled once per test binary.

use jsonschema::Validator;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

/// Relative to the repository root, as the project documents it.
pub const SPEC_RELATIVE_PATH: &str = "tests/schema/stripe-openapi-subset.json";

const SCHEMA_MAPS: [&str; 4] = ["properties", "patternProperties", "$defs", "definitions"];
const SCHEMA_LISTS: [&str; 3] = ["anyOf", "oneOf", "allOf"];
const SCHEMA_SINGLE: [&str; 3] = ["items", "additionalProperties", "not"];
const DROP: [&str; 4] = ["description", "title", "nullable", "format"];

/// Schemas of the mock's own objects, which Stripe's spec does not have.
fn mock_schemas() -> Vec<(&'static str, Value)> {
    vec![
        (
            "test_helpers.mock_clock",
            json!({
                "type": "object",
                "required": ["object", "mode", "now", "now_ms"],
                "properties": {
                    "object": {"const": "test_helpers.mock_clock"},
                    "mode": {"enum": ["manual", "real"]},
                    "now": {"type": "integer"},
                    "now_ms": {"type": "integer"},
                    "fired": {"type": "integer", "minimum": 0},
                },
            }),
        ),
        (
            "test_helpers.webhook_delivery",
            json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["object", "event", "endpoint", "url", "attempt", "status", "error", "response",
                             "succeeded", "duration_ms", "created", "next_attempt"],
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
            }),
        ),
    ]
}

pub fn spec_path() -> PathBuf {
    if let Some(p) = std::env::var_os("TOPUPS_MOCK_OPENAPI").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(SPEC_RELATIVE_PATH)
}

/// One OpenAPI 3.0 schema object as a JSON Schema (2020-12) one.
pub fn convert(node: &Value) -> Value {
    match node {
        Value::Array(items) => Value::Array(items.iter().map(convert).collect()),
        Value::Object(obj) => {
            let mut out = Map::new();
            for (key, value) in obj {
                if key.starts_with("x-") || DROP.contains(&key.as_str()) {
                    continue;
                }
                let converted = match (key.as_str(), value) {
                    ("$ref", Value::String(r)) => {
                        Value::String(r.replace("#/components/schemas/", "#/$defs/"))
                    }
                    (k, Value::Object(m)) if SCHEMA_MAPS.contains(&k) => {
                        Value::Object(m.iter().map(|(k, v)| (k.clone(), convert(v))).collect())
                    }
                    (k, Value::Array(l)) if SCHEMA_LISTS.contains(&k) => {
                        Value::Array(l.iter().map(convert).collect())
                    }
                    (k, Value::Object(_)) if SCHEMA_SINGLE.contains(&k) => convert(value),
                    _ => value.clone(),
                };
                out.insert(key.clone(), converted);
            }
            if obj.get("nullable") == Some(&Value::Bool(true)) {
                json!({"anyOf": [Value::Object(out), {"type": "null"}]})
            } else {
                Value::Object(out)
            }
        }
        other => other.clone(),
    }
}

struct Operation {
    method: String,
    template: String,
    key: String,
    schema: Value,
}

impl Operation {
    /// `{name}` segments match any non-empty segment, the others literally.
    fn matches(&self, method: &str, path: &str) -> bool {
        if self.method != method {
            return false;
        }
        let want: Vec<&str> = self.template.split('/').collect();
        let got: Vec<&str> = path.split('/').collect();
        want.len() == got.len()
            && want.iter().zip(&got).all(|(w, g)| {
                if w.starts_with('{') && w.ends_with('}') {
                    !g.is_empty()
                } else {
                    w == g
                }
            })
    }
}

pub struct OpenApiValidator {
    path: PathBuf,
    /// The converted component schemas, the `$defs` of every compiled schema.
    defs: Value,
    operations: Vec<Operation>,
    /// Compiled schemas, keyed by `#/$defs/NAME` for component schemas and
    /// by `METHOD /template (200)` for operations.
    compiled: Mutex<BTreeMap<String, Arc<Validator>>>,
}

fn named_key(name: &str) -> String {
    format!("#/$defs/{name}")
}

impl OpenApiValidator {
    pub fn load() -> Result<OpenApiValidator, String> {
        let path = spec_path();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "OpenAPI subset not readable at {} ({e}); it is expected at \
                 <repo root>/{SPEC_RELATIVE_PATH}, or set TOPUPS_MOCK_OPENAPI to override",
                path.display()
            )
        })?;
        let spec: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
        let mut defs = Map::new();
        for (name, schema) in spec["components"]["schemas"]
            .as_object()
            .ok_or_else(|| format!("{}: no components.schemas", path.display()))?
        {
            defs.insert(name.clone(), convert(schema));
        }
        for (name, schema) in mock_schemas() {
            defs.insert(name.to_string(), schema);
        }
        let mut operations = Vec::new();
        for (template, ops) in spec["paths"].as_object().into_iter().flatten() {
            for (method, op) in ops.as_object().into_iter().flatten() {
                let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
                if schema.is_null() {
                    continue;
                }
                let method = method.to_uppercase();
                operations.push(Operation {
                    key: format!("{method} {template} (200)"),
                    method,
                    template: template.clone(),
                    schema: convert(schema),
                });
            }
        }
        // Literal paths before templated ones (/v1/balance/history before .../{id}).
        operations.sort_by_key(|o| o.template.matches('{').count());
        let validator = OpenApiValidator {
            path,
            defs: Value::Object(defs),
            operations,
            compiled: Mutex::new(BTreeMap::new()),
        };
        // Compile up front what the mock serves (the subset also documents
        // /v1/transfers, which it does not), so a broken schema shows at once.
        validator.validator(&named_key("error"), None)?;
        for op in &validator.operations {
            if !op.template.starts_with("/v1/transfers") {
                validator.validator(&op.key, Some(&op.schema))?;
            }
        }
        Ok(validator)
    }

    /// The compiled schema `key` (an operation's `schema`, or the component
    /// `#/$defs/NAME` when `schema` is `None`), compiled on first use.
    fn validator(&self, key: &str, schema: Option<&Value>) -> Result<Arc<Validator>, String> {
        let mut compiled = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = compiled.get(key) {
            return Ok(Arc::clone(v));
        }
        let mut root = match schema {
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(format!("{key}: schema is not an object")),
            None => Map::from_iter([("$ref".to_string(), Value::String(key.to_string()))]),
        };
        root.insert("$defs".into(), self.defs.clone());
        let v = jsonschema::draft202012::options()
            .build(&Value::Object(root))
            .map_err(|e| {
                format!(
                    "{}: schema {key} does not compile: {e}",
                    self.path.display()
                )
            })?;
        let v = Arc::new(v);
        compiled.insert(key.to_string(), Arc::clone(&v));
        Ok(v)
    }

    /// Checks one response; `Err` explains the violation. `url_path` may
    /// carry a query string.
    pub fn check_response(
        &self,
        method: &str,
        url_path: &str,
        status: u16,
        body: &Value,
    ) -> Result<String, String> {
        let method = method.to_uppercase();
        let path = url_path.split('?').next().unwrap_or_default();
        let mut collapsed = String::with_capacity(path.len());
        for c in path.chars() {
            if !(c == '/' && collapsed.ends_with('/')) {
                collapsed.push(c);
            }
        }
        let where_ = format!("{method} {url_path} -> {status}");
        if !body.is_object() {
            return Err(format!("{where_}: body is not a JSON object: {body}"));
        }
        if !(200..300).contains(&status) {
            return self.check(&named_key("error"), None, body, &where_);
        }
        if let Some(op) = self
            .operations
            .iter()
            .find(|o| o.matches(&method, &collapsed))
        {
            return self.check(&op.key, Some(&op.schema), body, &where_);
        }
        let obj = body["object"].as_str();
        if let (true, Some("list")) = (collapsed.starts_with("/v1/test_helpers/"), obj) {
            // A mock-only list: each item against its object's schema.
            for item in body["data"].as_array().into_iter().flatten() {
                let name = item["object"].as_str().unwrap_or_default();
                if self.defs.get(name).is_none() {
                    return Err(format!("{where_}: no schema for list items {name:?}"));
                }
                self.check(&named_key(name), None, item, &where_)?;
            }
            return Ok("list".to_string());
        }
        if let (true, Some(obj)) = (collapsed.starts_with("/v1/test_helpers/"), obj) {
            if self.defs.get(obj).is_some() {
                return self.check(&named_key(obj), None, body, &where_);
            }
            if obj.starts_with("test_helpers.") {
                // A mock-only object without a schema.
                return Ok(obj.to_string());
            }
        }
        Err(format!(
            "{where_}: no schema for this endpoint (object {obj:?})"
        ))
    }

    fn check(
        &self,
        key: &str,
        schema: Option<&Value>,
        body: &Value,
        where_: &str,
    ) -> Result<String, String> {
        let validator = self.validator(key, schema)?;
        if validator.is_valid(body) {
            return Ok(key.to_string());
        }
        let errors: Vec<String> = validator
            .iter_errors(body)
            .take(10)
            .map(|e| {
                let message: String = e.to_string().chars().take(300).collect();
                format!(
                    "  at {}: {message}\n    (schema path {})",
                    display_pointer(e.instance_path().as_str()),
                    display_pointer(e.schema_path().as_str()),
                )
            })
            .collect();
        if errors.is_empty() {
            return Ok(key.to_string());
        }
        let body: String = body.to_string().chars().take(2000).collect();
        Err(format!(
            "{where_}: body violates schema {key} of {}:\n{}\nbody: {body}",
            self.path.display(),
            errors.join("\n")
        ))
    }
}

fn display_pointer(p: &str) -> &str {
    if p.is_empty() {
        "/"
    } else {
        p
    }
}

static VALIDATOR: LazyLock<Result<OpenApiValidator, String>> =
    LazyLock::new(OpenApiValidator::load);

/// Panics, naming the request and the schema, if the body does not match
/// the spec.
#[track_caller]
pub fn assert_conforms(method: &str, url_path: &str, status: u16, body: &Value) {
    let validator = match &*VALIDATOR {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    if let Err(msg) = validator.check_response(method, url_path, status, body) {
        panic!("OpenAPI schema violation: {msg}");
    }
}
