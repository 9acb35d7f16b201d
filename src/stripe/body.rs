//! Reading request parameters: the query string, and for POSTs the
//! form-encoded body, within a size limit.

use super::error::ApiError;
use super::form::Params;
use super::AppState;
use crate::http_body::{self, BodyError, DEFAULT_BODY_TIMEOUT};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest};

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        ApiError::invalid(e.message).with_status(e.status)
    }
}

/// Parameters of a GET: the query string only.
pub fn query(req: &HttpRequest) -> Result<Params, ApiError> {
    Ok(Params::parse(req.query_string().as_bytes())?)
}

/// Parameters of a POST: the query string plus the body. An empty body is
/// fine whatever its Content-Type (clients cancel with none, or with
/// `application/octet-stream`); a non-empty one must be form-encoded.
pub async fn form(req: &HttpRequest, payload: web::Payload) -> Result<Params, ApiError> {
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map_or(DEFAULT_BODY_TIMEOUT, |s| s.body_timeout);
    let body = http_body::read(req, payload, limit).await?;
    let mut params = query(req)?;
    if !body.is_empty() {
        let raw = req.headers().get(CONTENT_TYPE).map(|v| v.as_bytes());
        if raw != Some(FORM) {
            check_content_type(raw)?;
        }
        params.extend(&body)?;
    }
    Ok(params)
}

/// What the SDKs send, accepted without parsing.
const FORM: &[u8] = b"application/x-www-form-urlencoded";

/// Any other `Content-Type` must be the form type (in any case), and
/// UTF-8 if it names a `charset`.
fn check_content_type(raw: Option<&[u8]>) -> Result<(), ApiError> {
    let ct = String::from_utf8_lossy(raw.unwrap_or_default());
    let mut parts = ct.split(';');
    let essence = parts.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(ApiError::invalid(format!(
            "Invalid request: unsupported Content-Type {ct}. If error persists and you need assistance, please contact support@stripe.com."
        )));
    }
    for param in parts {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        let value = value.trim().trim_matches('"');
        if name.trim().eq_ignore_ascii_case("charset")
            && !(value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("utf8"))
        {
            return Err(ApiError::invalid(format!(
                "Invalid request: unsupported charset {value}. Form bodies must be UTF-8."
            )));
        }
    }
    Ok(())
}
