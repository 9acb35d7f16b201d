//! Reading a request body within the server's limits (size, encoding,
//! time), for every API surface; each renders a refusal in its provider's
//! error envelope.

use actix_web::http::header::{
    HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE,
};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use std::time::Duration;

/// The largest body accepted. A full Stripe create (50 metadata pairs of
/// the largest size, a 5000-character description) is about 35 KiB.
pub const MAX_BODY: usize = 256 * 1024;

/// How long a body may take to arrive unless the server says otherwise.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// A JSON error answer: `body` with `status` and `headers`. A request
/// whose body never finished (408) cannot share its connection.
pub fn error_response(
    status: StatusCode,
    headers: &[(HeaderName, HeaderValue)],
    body: Vec<u8>,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if status == StatusCode::REQUEST_TIMEOUT {
        response.force_close();
    }
    response.insert_header((CONTENT_TYPE, "application/json"));
    for (name, value) in headers {
        response.insert_header((name.clone(), value.clone()));
    }
    response.body(body)
}

/// `Display` and actix's `ResponseError` for a provider's error type with
/// `status`, `message`, `headers` fields and a `body()` in its envelope.
macro_rules! provider_error {
    ($t:ty) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{} {}", self.status.as_u16(), self.message)
            }
        }

        impl actix_web::ResponseError for $t {
            fn status_code(&self) -> actix_web::http::StatusCode {
                self.status
            }

            fn error_response(&self) -> actix_web::HttpResponse {
                crate::http_body::error_response(self.status, &self.headers, self.body())
            }
        }
    };
}
pub(crate) use provider_error;

/// A body refused: the status and why.
#[derive(Debug, Clone)]
pub struct BodyError {
    pub status: StatusCode,
    pub message: String,
}

fn refused(status: StatusCode, message: String) -> BodyError {
    BodyError { status, message }
}

fn too_large() -> BodyError {
    refused(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("Request body too large: the limit is {MAX_BODY} bytes."),
    )
}

/// The body of `req`, uncompressed, within [`MAX_BODY`] and `limit`. A
/// body that does not arrive in time is a 408, and its connection is
/// closed by the surface's error response.
pub async fn read(
    req: &HttpRequest,
    payload: web::Payload,
    limit: Duration,
) -> Result<web::BytesMut, BodyError> {
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
            return Err(refused(
                StatusCode::BAD_REQUEST,
                format!("Invalid request: unsupported Content-Encoding {enc}. Send the body uncompressed."),
            ));
        }
    }
    tokio::time::timeout(limit, collect(payload, declared))
        .await
        .map_err(|_| {
            refused(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "Request timeout: the body did not arrive within {} ms.",
                    limit.as_millis()
                ),
            )
        })?
}

/// Memory grows with what arrives, not with what the client declares.
async fn collect(
    mut payload: web::Payload,
    declared: Option<u64>,
) -> Result<web::BytesMut, BodyError> {
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0).min(4096) as usize);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            refused(
                StatusCode::BAD_REQUEST,
                "Invalid request: the body could not be read.".into(),
            )
        })?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
