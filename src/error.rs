//! Stripe's error object and the HTTP statuses that carry it.

use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

/// The `type` of a Stripe error. Only the values Stripe sends today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    ApiError,
    IdempotencyError,
    InvalidRequestError,
}

/// Error codes the mock may send. Restricted to codes that async-stripe
/// 0.41's closed `ErrorCode` enum can parse: anything else would turn a
/// clean 4xx into a deserialization failure in that client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    AmountTooLarge,
    IdempotencyKeyInUse,
    ParameterInvalidEmpty,
    ParameterInvalidInteger,
    ParameterMissing,
    ParameterUnknown,
    RateLimit,
    ResourceMissing,
    SecretKeyRequired,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AmountTooLarge => "amount_too_large",
            ErrorCode::IdempotencyKeyInUse => "idempotency_key_in_use",
            ErrorCode::ParameterInvalidEmpty => "parameter_invalid_empty",
            ErrorCode::ParameterInvalidInteger => "parameter_invalid_integer",
            ErrorCode::ParameterMissing => "parameter_missing",
            ErrorCode::ParameterUnknown => "parameter_unknown",
            ErrorCode::RateLimit => "rate_limit",
            ErrorCode::ResourceMissing => "resource_missing",
            ErrorCode::SecretKeyRequired => "secret_key_required",
        }
    }

    /// Stripe's `doc_url`: the code with `_` turned into `-`.
    pub fn doc_url(self) -> String {
        format!(
            "https://stripe.com/docs/error-codes/{}",
            self.as_str().replace('_', "-")
        )
    }
}

/// A Stripe API error: status, body and the few headers that go with it.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: ErrorType,
    pub code: Option<ErrorCode>,
    pub message: Cow<'static, str>,
    pub param: Option<String>,
    /// Extra response headers (`Retry-After`, `Stripe-Should-Retry`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

/// Field order follows Stripe's (alphabetical); absent fields are omitted,
/// as in Stripe's own error bodies.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    doc_url: Option<String>,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    param: Option<&'a str>,
    #[serde(rename = "type")]
    kind: ErrorType,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: ErrorType, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            status,
            kind,
            code: None,
            message: message.into(),
            param: None,
            headers: Vec::new(),
        }
    }

    /// 400 `invalid_request_error`.
    pub fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidRequestError,
            message,
        )
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn with_code(mut self, code: ErrorCode) -> Self {
        self.code = Some(code);
        self
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// `Missing required param: amount.`
    pub fn missing(param: &str) -> Self {
        Self::invalid(format!("Missing required param: {param}."))
            .with_param(param)
            .with_code(ErrorCode::ParameterMissing)
    }

    /// `Received unknown parameter: foo`
    pub fn unknown_param(param: &str) -> Self {
        Self::invalid(format!("Received unknown parameter: {param}"))
            .with_param(param)
            .with_code(ErrorCode::ParameterUnknown)
    }

    /// `No such topup: 'tu_x'` (404 on retrieve; callers turn it into a 400
    /// where the id came from a parameter such as a cursor).
    pub fn no_such(object: &str, id: &str, param: &str) -> Self {
        Self::invalid(format!("No such {object}: '{id}'"))
            .with_status(StatusCode::NOT_FOUND)
            .with_param(param)
            .with_code(ErrorCode::ResourceMissing)
    }

    pub fn body(&self) -> Vec<u8> {
        let envelope = Envelope {
            error: Body {
                code: self.code.map(ErrorCode::as_str),
                doc_url: self.code.map(ErrorCode::doc_url),
                message: &self.message,
                param: self.param.as_deref(),
                kind: self.kind,
            },
        };
        // Serializing plain strings and enums cannot fail.
        serde_json::to_vec(&envelope).unwrap_or_default()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((CONTENT_TYPE, "application/json"));
        for (name, value) in &self.headers {
            response.insert_header((name.clone(), value.clone()));
        }
        response.body(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_matches_stripes_shape() {
        let body = ApiError::missing("amount").body();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"error":{"code":"parameter_missing","doc_url":"https://stripe.com/docs/error-codes/parameter-missing","message":"Missing required param: amount.","param":"amount","type":"invalid_request_error"}}"#
        );
    }

    #[test]
    fn absent_fields_are_omitted() {
        let body = ApiError::invalid("Invalid array").body();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"error":{"message":"Invalid array","type":"invalid_request_error"}}"#
        );
    }
}
