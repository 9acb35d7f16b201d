//! Runs a POST handler's work under its `Idempotency-Key`, if it has one.

use super::body;
use super::form::Params;
use super::respond::json_bytes;
use super::RequestId;
use crate::domain::topup::Millis;
use crate::error::ApiError;
use crate::idempotency::{check_key, Begin, Saved};
use crate::store::Account;
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};

const KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The shape of every POST handler: read the parameters, parse them into
/// a typed request (a failure here is not saved under the key), then run
/// `work` with it under the request's idempotency key.
pub async fn post<I>(
    req: &HttpRequest,
    payload: web::Payload,
    account: &Account,
    now: Millis,
    parse: impl FnOnce(Params) -> Result<I, ApiError>,
    work: impl FnOnce(I) -> Result<Vec<u8>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let params = body::form(req, payload).await?;
    // Hashing the parameters is only needed when there is a key to check.
    let fingerprint = if req.headers().contains_key(KEY) {
        params.fingerprint()
    } else {
        0
    };
    let input = parse(params)?;
    run(req, account, fingerprint, now, || work(input))
}

/// Runs `work` (whose parameters were already validated, so the endpoint
/// has "begun executing") and saves its result under the request's key;
/// a retry gets the saved result with `Idempotent-Replayed: true`.
pub fn run(
    req: &HttpRequest,
    account: &Account,
    fingerprint: u64,
    now: Millis,
    work: impl FnOnce() -> Result<Vec<u8>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let Some(raw) = req.headers().get(KEY) else {
        return work().map(json_bytes);
    };
    let key = String::from_utf8_lossy(raw.as_bytes()).into_owned();
    check_key(&key)?;
    // Only POSTs run here, so the path names the endpoint, as in Stripe's
    // message ('/v1/topups' vs '/v1/topups/tu_.../cancel').
    let endpoint = req.path();
    let echo = HeaderValue::from_bytes(raw.as_bytes()).ok();
    match account.idempotency.begin(&key, endpoint, fingerprint, now) {
        Begin::Refuse(e) => Err(e),
        Begin::Replay(saved) => {
            let mut res = HttpResponse::build(saved.status);
            res.insert_header((CONTENT_TYPE, "application/json"))
                .insert_header(("idempotent-replayed", "true"))
                .insert_header(("original-request", saved.request_id.as_str()));
            if let Some(v) = echo {
                res.insert_header((KEY, v));
            }
            Ok(res.body(saved.body.clone()))
        }
        Begin::Run => {
            let result = work();
            let (status, body) = match &result {
                Ok(body) => (StatusCode::OK, body.clone()),
                Err(e) => (e.status, e.body()),
            };
            let request_id = req
                .extensions()
                .get::<RequestId>()
                .and_then(|r| r.0.to_str().ok().map(str::to_owned))
                .unwrap_or_default();
            account.idempotency.finish(
                &key,
                Saved {
                    endpoint: endpoint.into(),
                    fingerprint,
                    status,
                    body,
                    request_id,
                    at: now,
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
