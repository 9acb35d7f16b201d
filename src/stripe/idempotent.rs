//! Runs a POST handler's work under its `Idempotency-Key`, if it has one.

use super::auth::Authed;
use super::body;
use super::error::{ApiError, ErrorType};
use super::form::Params;
use super::respond::json_bytes;
use super::RequestId;
use crate::domain::error::{DomainError, ErrorCode};
use crate::domain::event::Cause;
use crate::store::{Begin, Refusal, Saved};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};

const KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// Stripe's limit on key length.
pub const MAX_KEY_LEN: usize = 255;

/// The shape of every POST handler: read the parameters, parse them into
/// domain values (a failure here is not saved under the key), then run
/// `work` with them and the request's cause under its idempotency key.
pub async fn post<I>(
    req: &HttpRequest,
    payload: web::Payload,
    auth: &Authed,
    parse: impl FnOnce(Params) -> Result<I, DomainError>,
    work: impl FnOnce(I, &Cause) -> Result<Vec<u8>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let params = body::form(req, payload).await?;
    // Hashing the parameters is only needed when there is a key to check.
    let fingerprint = if req.headers().contains_key(KEY) {
        params.fingerprint()
    } else {
        0
    };
    let input = parse(params)?;
    run(req, auth, fingerprint, |cause| work(input, cause))
}

/// The request that caused a change, for the events it emits.
fn cause(req: &HttpRequest, key: Option<&str>) -> Cause {
    Cause {
        request_id: req
            .extensions()
            .get::<RequestId>()
            .and_then(|r| r.0.to_str().ok().map(Box::from)),
        idempotency_key: key.map(Box::from),
    }
}

/// Runs `work` (whose parameters were already validated, so the endpoint
/// has "begun executing") and saves its result under the request's key;
/// a retry gets the saved result with `Idempotent-Replayed: true`.
fn run(
    req: &HttpRequest,
    auth: &Authed,
    fingerprint: u64,
    work: impl FnOnce(&Cause) -> Result<Vec<u8>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let Some(raw) = req.headers().get(KEY) else {
        return work(&cause(req, None)).map(json_bytes);
    };
    let key = String::from_utf8_lossy(raw.as_bytes()).into_owned();
    check_key(&key)?;
    // Only POSTs run here, so the path names the endpoint, as in Stripe's
    // message ('/v1/topups' vs '/v1/topups/tu_.../cancel').
    let endpoint = req.path();
    let echo = HeaderValue::from_bytes(raw.as_bytes()).ok();
    let keys = &auth.account.idempotency;
    match keys.begin(&key, endpoint, fingerprint, auth.now) {
        Begin::Refuse(r) => Err(refusal(r, &key, endpoint)),
        Begin::Replay(saved) => {
            let status = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::OK);
            let mut res = HttpResponse::build(status);
            res.insert_header((CONTENT_TYPE, "application/json"))
                .insert_header(("idempotent-replayed", "true"))
                .insert_header(("original-request", saved.request_id.as_str()));
            if let Some(v) = echo {
                res.insert_header((KEY, v));
            }
            Ok(res.body(saved.body.clone()))
        }
        Begin::Run => {
            let cause = cause(req, Some(&key));
            let result = work(&cause);
            let (status, body) = match &result {
                Ok(body) => (StatusCode::OK, body.clone()),
                Err(e) => (e.status, e.body()),
            };
            keys.finish(
                &key,
                Saved {
                    endpoint: endpoint.into(),
                    fingerprint,
                    status: status.as_u16(),
                    body,
                    request_id: cause.request_id.as_deref().unwrap_or_default().to_string(),
                    at: auth.now,
                },
            );
            let mut res = match result {
                Ok(body) => json_bytes(body),
                Err(e) => e.error_response(),
            };
            if let Some(v) = echo {
                res.headers_mut().insert(KEY, v);
            }
            Ok(res)
        }
    }
}

/// Stripe's words for a key that cannot be used.
fn refusal(r: Refusal, key: &str, endpoint: &str) -> ApiError {
    let idempotency_error = |message: String| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorType::IdempotencyError,
            message,
        )
    };
    match r {
        Refusal::InUse => ApiError::invalid(format!(
            "There is currently another in-progress request using this idempotent key (that probably means you submitted twice, and the other request is still going through): {key}. Please try again later."
        ))
        .with_status(StatusCode::CONFLICT)
        .with_code(ErrorCode::IdempotencyKeyInUse),
        Refusal::OtherEndpoint(first) => idempotency_error(format!(
            "Keys for idempotent requests can only be used for the same endpoint they were first used for ('{first}' vs '{endpoint}'). Try using a key other than '{key}' if you meant to execute a different request."
        )),
        Refusal::OtherParameters => idempotency_error(format!(
            "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
        )),
    }
}

/// Checks the `Idempotency-Key` header value.
fn check_key(key: &str) -> Result<(), ApiError> {
    let n = key.chars().count();
    if n > MAX_KEY_LEN {
        return Err(ApiError::invalid(format!(
            "Invalid Idempotency-Key: it must be at most {MAX_KEY_LEN} characters long, but it is {n} characters long."
        )));
    }
    Ok(())
}
