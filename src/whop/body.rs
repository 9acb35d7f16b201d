//! Whop's request bodies: one JSON object, read within the server's body
//! limits. Each field keeps its raw text, so numbers are read exactly.

use super::error::WhopError;
use crate::domain::error::{DomainError, ErrorCode};
use crate::http_body::{self, DEFAULT_BODY_TIMEOUT};
use crate::stripe::AppState;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The fields of a JSON body, each as its JSON text.
pub struct Fields(BTreeMap<String, Box<RawValue>>);

/// Reads the body: empty is `{}`; anything else must be a JSON object.
pub async fn json(req: &HttpRequest, payload: web::Payload) -> Result<Fields, WhopError> {
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map_or(DEFAULT_BODY_TIMEOUT, |s| s.body_timeout);
    let body = http_body::read(req, payload, limit).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Fields(BTreeMap::new()));
    }
    if let Some(ct) = req.headers().get(CONTENT_TYPE) {
        let ct = String::from_utf8_lossy(ct.as_bytes());
        let essence = ct.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            return Err(WhopError::invalid_json(format!(
                "Unsupported Content-Type {ct}: send a JSON body with Content-Type: application/json."
            )));
        }
    }
    serde_json::from_slice(&body).map(Fields).map_err(|e| {
        if e.is_data() {
            WhopError::invalid_json("The request body must be a JSON object.")
        } else {
            WhopError::invalid_json(format!("The request body is not valid JSON: {e}."))
        }
    })
}

/// `Missing required parameter: amount.`, Whop's wording.
pub fn missing(param: &str) -> DomainError {
    DomainError::invalid(format!("Missing required parameter: {param}."))
        .with_param(param)
        .with_code(ErrorCode::ParameterMissing)
}

fn wrong_type(param: &str, expected: &str) -> DomainError {
    DomainError::invalid(format!("Invalid {param}: expected {expected}.")).with_param(param)
}

impl Fields {
    /// The raw JSON text of `name`; `null` counts as absent.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.get()).filter(|v| *v != "null")
    }

    /// A string field; an empty string counts as absent.
    pub fn string(&self, name: &str) -> Result<Option<String>, DomainError> {
        match self.raw(name) {
            None => Ok(None),
            Some(raw) => serde_json::from_str::<String>(raw)
                .map(|s| Some(s).filter(|s| !s.is_empty()))
                .map_err(|_| wrong_type(name, "a string")),
        }
    }

    /// A number field, as its JSON text.
    pub fn number(&self, name: &str) -> Result<Option<&str>, DomainError> {
        match self.raw(name) {
            None => Ok(None),
            Some(raw) if raw.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => Ok(Some(raw)),
            Some(_) => Err(wrong_type(name, "a number")),
        }
    }

    /// A non-negative integer field.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, DomainError> {
        match self.number(name)? {
            None => Ok(None),
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .map(Some)
                .ok_or_else(|| wrong_type(name, "a whole number of at least 0")),
        }
    }
}
