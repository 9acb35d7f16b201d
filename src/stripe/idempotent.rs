//! Runs a POST handler's work under its `Idempotency-Key`, if it has one.

use super::auth::Authed;
use super::body;
use super::error::{ApiError, ErrorType};
use super::form::Params;
use super::resource::Ctx;
use super::respond::json_bytes;
use super::RequestId;
use crate::domain::error::{DomainError, ErrorCode};
use crate::domain::event::Cause;
use crate::domain::time::Millis;
use crate::store::Account;
use crate::store::{Begin, Refusal, Saved};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use std::sync::Arc;

const KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// Stripe's limit on key length.
pub const MAX_KEY_LEN: usize = 255;

/// What a change works with: the account (made on its first write), its
/// time, and the request that causes the change.
pub struct Write {
    pub account: Arc<Account>,
    pub now: Millis,
    pub cause: Cause,
}

impl Write {
    pub fn ctx(&self) -> Ctx<'_> {
        Ctx {
            account: &self.account,
            now: self.now,
        }
    }
}

/// The shape of every POST handler: read the parameters, parse them into
/// domain values (a failure here is not saved under the key and makes no
/// account), then run `work` under the request's idempotency key.
pub async fn post<I>(
    req: &HttpRequest,
    payload: web::Payload,
    auth: &Authed,
    parse: impl FnOnce(Params) -> Result<I, DomainError>,
    work: impl FnOnce(I, &Write) -> Result<Vec<u8>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let params = body::form(req, payload).await?;
    // Hashing the parameters is only needed when there is a key to check.
    let fingerprint = if req.headers().contains_key(KEY) {
        params.fingerprint()
    } else {
        0
    };
    let input = parse(params)?;
    let key = req
        .headers()
        .get(KEY)
        .map(|v| check_key(v.as_bytes()))
        .transpose()?;
    let account = auth.writable()?;
    // The time of the change is read now, after the body arrived and any
    // due job ran, so events stay in time order.
    let now = auth.engine.now_of(&account);
    run(req, key, account, now, fingerprint, |w| work(input, w))
}

/// The request that caused a change, for the events it emits.
fn cause(req: &HttpRequest, key: Option<&str>) -> Cause {
    Cause {
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        idempotency_key: key.map(Arc::from),
    }
}

/// Runs `work` (whose parameters were already validated, so the endpoint
/// has "begun executing") and saves its result under the request's key;
/// a retry gets the saved result with `Idempotent-Replayed: true`.
fn run(
    req: &HttpRequest,
    key: Option<String>,
    account: Arc<Account>,
    now: Millis,
    fingerprint: u64,
    work: impl FnOnce(&Write) -> Result<Vec<u8>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let write = |key| Write {
        account: account.clone(),
        now,
        cause: cause(req, key),
    };
    let Some(key) = key else {
        return work(&write(None)).map(json_bytes);
    };
    // Only POSTs run here, so the path names the endpoint, as in Stripe's
    // message ('/v1/topups' vs '/v1/topups/tu_.../cancel').
    let endpoint = req.path();
    let echo = HeaderValue::from_str(&key).ok();
    let keys = &account.idempotency;
    match keys.begin(&key, endpoint, fingerprint, now) {
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
            // The change and its saved answer reach the state file together.
            let _op = account.sink().map(|s| s.operation());
            let w = write(Some(&key));
            let running = Running { keys, key: &key };
            let result = work(&w);
            std::mem::forget(running);
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
                    request_id: w
                        .cause
                        .request_id
                        .as_deref()
                        .unwrap_or_default()
                        .to_string(),
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

/// A key whose request is running; dropped only if the work panicked,
/// which frees the key.
struct Running<'a> {
    keys: &'a crate::store::IdempotencyKeys,
    key: &'a str,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.keys.abandon(self.key);
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
/// Checks the `Idempotency-Key` header: 1 to 255 printable ASCII
/// characters, so no two spellings can share a key.
fn check_key(raw: &[u8]) -> Result<String, ApiError> {
    let n = raw.len();
    if n > MAX_KEY_LEN {
        return Err(ApiError::invalid(format!(
            "Invalid Idempotency-Key: it must be at most {MAX_KEY_LEN} characters long, but it is {n} characters long."
        )));
    }
    if n == 0 {
        return Err(ApiError::invalid(
            "Invalid Idempotency-Key: it must not be empty.",
        ));
    }
    match std::str::from_utf8(raw) {
        Ok(key) if raw.iter().all(|b| (0x20..0x7f).contains(b)) => Ok(key.to_string()),
        _ => Err(ApiError::invalid(
            "Invalid Idempotency-Key: it may only contain printable ASCII characters.",
        )),
    }
}
