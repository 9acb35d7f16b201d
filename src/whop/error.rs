//! Whop's error object, `{"error": {"type", "message", "code", "param"}}`,
//! and the statuses that carry it; domain errors become one here.

use crate::domain::error::{DomainError, ErrorCode, ErrorKind};
use crate::faults::ErrorStatus;
use crate::http_body::BodyError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use serde::Serialize;
use std::borrow::Cow;

/// A Whop API error: status, body and extra headers.
#[derive(Debug, Clone)]
pub struct WhopError {
    pub status: StatusCode,
    pub message: Cow<'static, str>,
    pub code: Option<&'static str>,
    pub param: Option<String>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: &'a str,
    code: Option<&'static str>,
    param: Option<&'a str>,
}

/// Whop's `type` for a status (from its API reference's examples where it
/// shows one).
fn type_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_request_error",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        408 => "request_timeout",
        409 => "conflict",
        413 => "payload_too_large",
        422 => "unprocessable_entity",
        429 => "rate_limit_exceeded",
        503 => "service_unavailable",
        _ => "internal_server_error",
    }
}

impl WhopError {
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        WhopError {
            status,
            message: message.into(),
            code: None,
            param: None,
            headers: Vec::new(),
        }
    }

    /// 400 `invalid_json`.
    pub fn invalid_json(message: impl Into<Cow<'static, str>>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, message);
        e.code = Some("invalid_json");
        e
    }

    /// 401.
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    fn with_header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
        self
    }

    pub fn body(&self) -> Vec<u8> {
        let envelope = Envelope {
            error: Body {
                kind: type_of(self.status),
                message: &self.message,
                code: self.code,
                param: self.param.as_deref(),
            },
        };
        // Serializing plain strings cannot fail.
        serde_json::to_vec(&envelope).unwrap_or_default()
    }

    /// An injected fault in Whop's envelope. The SDKs retry 429 and 5xx by
    /// themselves (after `Retry-After` for a 429).
    pub fn injected(status: ErrorStatus) -> Self {
        match status {
            ErrorStatus::TooManyRequests => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests. Please slow down and retry later.",
            )
            .with_header("retry-after", "1"),
            ErrorStatus::Internal => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An unexpected error occurred",
            ),
            ErrorStatus::Unavailable => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable. Please retry later.",
            ),
        }
    }
}

impl From<DomainError> for WhopError {
    fn from(e: DomainError) -> Self {
        let status = match e.kind {
            ErrorKind::Invalid => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        };
        // Whop's codes: a missing parameter, or any other bad one.
        let code = match (e.code, status, &e.param) {
            (Some(ErrorCode::ParameterMissing), _, _) => Some("parameter_missing"),
            (_, StatusCode::BAD_REQUEST, Some(_)) => Some("parameter_invalid"),
            _ => None,
        };
        WhopError {
            status,
            message: e.message,
            code,
            param: e.param,
            headers: Vec::new(),
        }
    }
}

impl From<BodyError> for WhopError {
    fn from(e: BodyError) -> Self {
        WhopError::new(e.status, e.message)
    }
}

crate::http_body::provider_error!(WhopError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope() {
        let e = WhopError::from(
            DomainError::invalid("Missing required parameter: amount.")
                .with_param("amount")
                .with_code(ErrorCode::ParameterMissing),
        );
        assert_eq!(
            String::from_utf8(e.body()).unwrap(),
            r#"{"error":{"type":"invalid_request_error","message":"Missing required parameter: amount.","code":"parameter_missing","param":"amount"}}"#
        );
        let e = WhopError::unauthorized("Invalid or missing API key");
        assert_eq!(
            String::from_utf8(e.body()).unwrap(),
            r#"{"error":{"type":"unauthorized","message":"Invalid or missing API key","code":null,"param":null}}"#
        );
    }
}
