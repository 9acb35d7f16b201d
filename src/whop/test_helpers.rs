//! `/api/v1/test_helpers/...`: the mock's own endpoints on the Whop
//! surface (never faulted): the key's clock, forced outcomes of a top-up,
//! and a reset. Bodies are JSON, answers Whop-shaped.

use super::auth;
use super::body;
use super::error::WhopError;
use super::topups::{not_found, topup_json};
use crate::domain::error::{DomainError, ErrorKind};
use crate::domain::event::Cause;
use crate::domain::failure::FailureCode;
use crate::domain::iso8601;
use crate::domain::time::Millis;
use crate::domain::topup::Transition;
use crate::engine::Engine;
use crate::json::ObjectWriter;
use crate::stripe::json_bytes;
use actix_web::{web, HttpRequest, HttpResponse};

fn clock_json(engine: &Engine, now: Millis, fired: Option<usize>) -> HttpResponse {
    let mut out = Vec::with_capacity(128);
    let mut w = ObjectWriter::new(&mut out);
    w.str("object", "test_helpers.mock_clock")
        .str("mode", engine.clock.mode().as_str())
        .str("now", &iso8601::format(now))
        .int("now_ms", now);
    if let Some(n) = fired {
        w.int("fired", n as i64);
    }
    w.end();
    json_bytes(out)
}

/// `GET /api/v1/test_helpers/clock`: the key's clock.
pub async fn clock(req: HttpRequest) -> Result<HttpResponse, WhopError> {
    let caller = auth::caller(&req)?;
    let view = caller.view();
    Ok(clock_json(&caller.engine, view.now, None))
}

/// `POST /api/v1/test_helpers/clock/advance` with `{"seconds": n}` and/or
/// `{"millis": n}`: moves the key's clock and runs what came due.
pub async fn advance(req: HttpRequest, payload: web::Payload) -> Result<HttpResponse, WhopError> {
    let caller = auth::caller(&req)?;
    let fields = body::json(&req, payload).await?;
    let (seconds, millis) = (fields.integer("seconds")?, fields.integer("millis")?);
    if seconds.is_none() && millis.is_none() {
        return Err(body::missing("seconds").into());
    }
    let by = seconds
        .unwrap_or(0)
        .saturating_mul(1000)
        .saturating_add(millis.unwrap_or(0));
    match caller.engine.advance_account(&caller.id, by)? {
        Some((fired, now)) => Ok(clock_json(&caller.engine, now, Some(fired))),
        None => Err(DomainError::invalid(
            "The clock is real: start the server with --clock manual to move it.",
        )
        .into()),
    }
}

/// `POST /api/v1/test_helpers/topups/{id}/{succeed|fail|cancel}` (`fail`
/// takes an optional `{"failure_code": "..."}`). A move the top-up's
/// status does not allow is a 422.
pub async fn transition(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, WhopError> {
    let (id, action) = path.into_inner();
    let caller = auth::caller(&req)?;
    let fields = body::json(&req, payload).await?;
    let code = fields.string("failure_code")?;
    let t = match (action.as_str(), code) {
        ("succeed", None) => Transition::Succeed,
        ("cancel", None) => Transition::Cancel,
        ("fail", None) => Transition::Fail(caller.engine.planner.rules.failure_code),
        ("fail", Some(raw)) => Transition::Fail(FailureCode::parse_named(&raw).map_err(|m| {
            DomainError::invalid(format!("Invalid failure_code: {m}")).with_param("failure_code")
        })?),
        ("succeed" | "cancel", Some(_)) => {
            return Err(DomainError::invalid("Only fail takes a failure_code.")
                .with_param("failure_code")
                .into())
        }
        _ => return Err(super::unknown_route(&req)),
    };
    // A missing top-up makes no account.
    let view = caller.view();
    if !view.exists && view.account.topups.get(&id).is_none() {
        return Err(not_found(&id).into());
    }
    let (account, now) = caller.writable()?;
    let moved = caller
        .engine
        .transition_topup(&account, &id, t, now, &Cause::default())
        .map_err(|e| match e.kind {
            ErrorKind::Invalid => e.with_kind(ErrorKind::Unprocessable),
            _ => not_found(&id),
        })?;
    Ok(json_bytes(topup_json(&moved.object)))
}

/// `POST /api/v1/test_helpers/reset`: the key's account starts afresh.
pub async fn reset(req: HttpRequest) -> Result<HttpResponse, WhopError> {
    let caller = auth::caller(&req)?;
    caller.engine.reset(&caller.id);
    Ok(json_bytes(
        br#"{"object":"test_helpers.reset","reset":true}"#.to_vec(),
    ))
}

/// `GET /api/v1/test_helpers/stream`: the live stream of the key's
/// account, as Stripe's `GET /v1/test_helpers/stream` (see
/// `dashboard::stream`).
pub async fn stream(req: HttpRequest) -> Result<HttpResponse, WhopError> {
    let c = auth::caller(&req)?;
    let subscription = c
        .engine
        .shared()
        .watch(c.id.provider, &c.id.key)
        .map_err(|e| WhopError::new(actix_web::http::StatusCode::TOO_MANY_REQUESTS, e.message))?;
    Ok(crate::dashboard::stream::response(subscription))
}
