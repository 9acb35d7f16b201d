//! Stripe's error object and the HTTP statuses that carry it; domain
//! errors become one here, at the edge.

use crate::domain::error::{DomainError, ErrorCode, ErrorKind};
use crate::faults::ErrorStatus;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use serde::Serialize;
use std::borrow::Cow;

/// The `type` of a Stripe error. Only the values Stripe sends today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(clippy::enum_variant_names)] // Stripe's own names.
pub enum ErrorType {
    ApiError,
    IdempotencyError,
    InvalidRequestError,
}

/// Stripe's `doc_url`: the code with `_` turned into `-`.
fn doc_url(code: ErrorCode) -> String {
    format!(
        "https://stripe.com/docs/error-codes/{}",
        code.as_str().replace('_', "-")
    )
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

    pub fn body(&self) -> Vec<u8> {
        let envelope = Envelope {
            error: Body {
                code: self.code.map(ErrorCode::as_str),
                doc_url: self.code.map(doc_url),
                message: &self.message,
                param: self.param.as_deref(),
                kind: self.kind,
            },
        };
        // Serializing plain strings and enums cannot fail.
        serde_json::to_vec(&envelope).unwrap_or_default()
    }
}

impl ApiError {
    /// Stripe's body and headers for an injected status. 5xx say the request may
    /// be retried (SDKs then retry with the same idempotency key); a 429
    /// says when, and that an immediate retry will not help.
    pub fn injected(status: ErrorStatus) -> ApiError {
        let retry = |e: ApiError, v: &'static str| {
            e.with_header(
                HeaderName::from_static("stripe-should-retry"),
                HeaderValue::from_static(v),
            )
        };
        match status {
            ErrorStatus::TooManyRequests => retry(
                ApiError::invalid("Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.")
                    .with_status(StatusCode::TOO_MANY_REQUESTS)
                    .with_code(ErrorCode::RateLimit)
                    .with_header(HeaderName::from_static("retry-after"), HeaderValue::from_static("1")),
                "false",
            ),
            ErrorStatus::Internal => retry(
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorType::ApiError, "An unknown error occurred"),
                "true",
            ),
            ErrorStatus::Unavailable => retry(
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorType::ApiError,
                    "Error while communicating with one of our backends.  Sorry about that!  We have been notified of the problem.  If you have any questions, we can help at https://support.stripe.com/.",
                ),
                "true",
            ),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let status = match e.kind {
            ErrorKind::Invalid | ErrorKind::Unprocessable => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
        };
        ApiError {
            status,
            kind: ErrorType::InvalidRequestError,
            code: e.code,
            message: e.message,
            param: e.param,
            headers: Vec::new(),
        }
    }
}

crate::http_body::provider_error!(ApiError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_matches_stripes_shape() {
        let body = ApiError::from(DomainError::missing("amount")).body();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"error":{"code":"parameter_missing","doc_url":"https://stripe.com/docs/error-codes/parameter-missing","message":"Missing required param: amount.","param":"amount","type":"invalid_request_error"}}"#
        );
    }

    #[test]
    fn injected_rate_limit_says_when() {
        let e = ApiError::injected(ErrorStatus::TooManyRequests);
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(e.headers.iter().any(|(n, _)| n == "retry-after"));
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
