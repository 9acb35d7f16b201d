//! Reading request parameters: the query string, and for POSTs the
//! form-encoded body, within a size limit.

use super::error::ApiError;
use super::form::Params;
use super::AppState;
use actix_web::http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use std::time::Duration;

/// The largest body accepted. A full create (50 metadata pairs of the
/// largest size, a 5000-character description) is about 35 KiB.
pub const MAX_BODY: usize = 256 * 1024;

fn too_large() -> ApiError {
    ApiError::invalid(format!(
        "Request body too large: the limit is {MAX_BODY} bytes."
    ))
    .with_status(StatusCode::PAYLOAD_TOO_LARGE)
}

/// Parameters of a GET: the query string only.
pub fn query(req: &HttpRequest) -> Result<Params, ApiError> {
    Ok(Params::parse(req.query_string().as_bytes())?)
}

/// Parameters of a POST: the query string plus the body. An empty body is
/// fine whatever its Content-Type (clients cancel with none, or with
/// `application/octet-stream`); a non-empty one must be form-encoded.
pub async fn form(req: &HttpRequest, payload: web::Payload) -> Result<Params, ApiError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    if let Some(enc) = req.headers().get(CONTENT_ENCODING) {
        let enc = String::from_utf8_lossy(enc.as_bytes());
        if !enc.trim().eq_ignore_ascii_case("identity") {
            return Err(ApiError::invalid(format!(
                "Invalid request: unsupported Content-Encoding {enc}. Send the body uncompressed."
            )));
        }
    }
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map_or(DEFAULT_BODY_TIMEOUT, |s| s.body_timeout);
    let body = tokio::time::timeout(limit, read(payload, declared))
        .await
        .map_err(|_| timed_out(limit))??;
    let mut params = query(req)?;
    if !body.is_empty() {
        let raw = req.headers().get(CONTENT_TYPE).map(|v| v.as_bytes());
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
        params.extend(&body)?;
    }
    Ok(params)
}

/// Reads the body within [`MAX_BODY`]. Memory grows with what arrives,
/// not with what the client declares.
async fn read(mut payload: web::Payload, declared: Option<u64>) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0).min(4096) as usize);
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::invalid("Invalid request: the body could not be read."))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// How long a body may take to arrive unless the server says otherwise.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// A body that did not arrive in time: 408, and the connection is closed
/// (its buffer with it).
fn timed_out(limit: Duration) -> ApiError {
    ApiError::invalid(format!(
        "Request timeout: the body did not arrive within {} ms.",
        limit.as_millis()
    ))
    .with_status(StatusCode::REQUEST_TIMEOUT)
}
