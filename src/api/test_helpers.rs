//! `/v1/test_helpers/...`: move the manual clock, force a top-up's
//! transition now, and reset an account. These are the mock's own, in the
//! style of Stripe's test helpers; they need a test key like every call.

use super::auth::Authed;
use super::body;
use super::expand::Expand;
use super::form::Params;
use super::respond::{json_bytes, to_json};
use super::topups::{not_found, render, EXPANDABLE};
use crate::clock::ClockMode;
use crate::domain::topup::{FailureCode, Transition};
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

#[derive(Serialize)]
struct ClockBody {
    object: &'static str,
    mode: &'static str,
    /// Unix seconds.
    now: i64,
    now_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    fired: Option<usize>,
}

fn clock_body(state: &AppState, fired: Option<usize>) -> ClockBody {
    let now_ms = state.clock.now();
    ClockBody {
        object: "test_helpers.mock_clock",
        mode: match state.clock.mode() {
            ClockMode::Real => "real",
            ClockMode::Manual => "manual",
        },
        now: now_ms.div_euclid(1000),
        now_ms,
        fired,
    }
}

pub async fn clock(
    req: HttpRequest,
    _auth: Authed,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    body::query(&req)?.reject_unknown()?;
    Ok(json_bytes(to_json(&clock_body(&state, None))))
}

/// `seconds=N` (and/or `millis=N`): moves a manual clock forward and fires
/// every transition that came due, in due order, before answering.
pub async fn advance(
    req: HttpRequest,
    _auth: Authed,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let mut p = body::form(&req, payload).await?;
    let seconds = p.take("seconds");
    let millis = p.take("millis");
    p.reject_unknown()?;
    if seconds.is_none() && millis.is_none() {
        return Err(ApiError::missing("seconds"));
    }
    let non_negative = |v: Option<super::form::Value>, param: &str| -> Result<i64, ApiError> {
        let n = v.map(|v| v.into_integer(param)).transpose()?.unwrap_or(0);
        if n < 0 {
            return Err(
                ApiError::invalid("This value must be greater than or equal to 0.")
                    .with_param(param),
            );
        }
        Ok(n)
    };
    let by = non_negative(seconds, "seconds")?
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(non_negative(millis, "millis").ok()?))
        .ok_or_else(|| {
            ApiError::invalid("The clock cannot move that far.").with_param("seconds")
        })?;
    let Some(now) = state.clock.advance(by) else {
        return Err(ApiError::invalid(
            "This server runs on the real clock. Start it with --clock manual to move time with this endpoint.",
        ));
    };
    let fired = state.scheduler.run_due(now);
    Ok(json_bytes(to_json(&clock_body(&state, Some(fired)))))
}

/// `POST /v1/test_helpers/topups/{id}/{succeed|fail|reverse}`.
pub async fn transition(
    req: HttpRequest,
    auth: Authed,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (id, action) = path.into_inner();
    let mut p: Params = body::form(&req, payload).await?;
    let code = p.take("failure_code");
    let expand = p.take("expand");
    if action != "fail" && code.is_some() {
        return Err(ApiError::unknown_param("failure_code"));
    }
    let t = match action.as_str() {
        "succeed" => Transition::Succeed,
        "reverse" => Transition::Reverse,
        "fail" => {
            let code = match code {
                Some(v) => {
                    let raw = v.into_string("failure_code")?;
                    FailureCode::parse(&raw).ok_or_else(|| {
                        ApiError::invalid(format!(
                            "Invalid failure_code: must be one of {}",
                            FailureCode::ALL.map(FailureCode::as_str).join(", ")
                        ))
                        .with_param("failure_code")
                    })?
                }
                None => state.planner.rules.failure_code,
            };
            Transition::Fail(code)
        }
        _ => return Ok(super::not_found(req).await),
    };
    p.reject_unknown()?;
    let expand = Expand::parse(expand, EXPANDABLE, false)?;
    let account = &auth.account;
    let now = state.clock.now();
    let mut topup = account.topups.get_mut(&id).ok_or_else(|| not_found(&id))?;
    account.settle_locked(&mut topup, now);
    account.apply(&mut topup, t, now)?;
    Ok(json_bytes(render(
        account,
        &topup,
        expand.has("balance_transaction"),
        now,
    )))
}

#[derive(Serialize)]
struct ResetBody {
    object: &'static str,
    reset: bool,
}

/// Puts the calling key's account back to its start-up state (empty, or
/// the fixtures). Other keys' accounts are untouched.
pub async fn reset(
    req: HttpRequest,
    auth: Authed,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    body::form(&req, payload).await?.reject_unknown()?;
    state.reset(&auth.account_key);
    Ok(json_bytes(to_json(&ResetBody {
        object: "test_helpers.reset",
        reset: true,
    })))
}
