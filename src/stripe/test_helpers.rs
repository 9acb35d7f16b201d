//! `/v1/test_helpers/...`: move the manual clock, force a top-up's
//! transition now, and reset an account. These are the mock's own, in the
//! style of Stripe's test helpers; they need a test key like every call.

use super::auth::Authed;
use super::body;
use super::error::ApiError;
use super::expand::Expand;
use super::form::{Params, Value};
use super::idempotent;
use super::resource::{self, StripeObject};
use super::respond::json_bytes;
use crate::domain::error::DomainError;
use crate::domain::event::Event;
use crate::domain::failure::FailureCode;
use crate::domain::time::ceil_seconds;
use crate::domain::topup::{Topup, Transition};
use crate::engine::{Engine, Target};
use crate::json::ObjectWriter;
use actix_web::{web, HttpRequest, HttpResponse};

/// The calling account's clock.
fn clock_body(engine: &Engine, now_ms: i64, fired: Option<usize>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    let mut w = ObjectWriter::new(&mut out);
    w.str("object", "test_helpers.mock_clock")
        .str("mode", engine.clock.mode().as_str())
        .int("now", now_ms.div_euclid(1000))
        .int("now_ms", now_ms);
    if let Some(n) = fired {
        w.int("fired", n as i64);
    }
    w.end();
    out
}

pub async fn clock(req: HttpRequest, auth: Authed) -> Result<HttpResponse, ApiError> {
    body::query(&req)?.reject_unknown()?;
    Ok(json_bytes(clock_body(&auth.engine, auth.now, None)))
}

/// `seconds=N` (and/or `millis=N`): moves the calling key's clock (its
/// account's and its connected accounts') forward and runs what came due
/// on them, in due order, before answering. Other keys are untouched.
pub async fn advance(
    req: HttpRequest,
    auth: Authed,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let mut p = body::form(&req, payload).await?;
    let seconds = p.take("seconds");
    let millis = p.take("millis");
    p.reject_unknown()?;
    if seconds.is_none() && millis.is_none() {
        return Err(DomainError::missing("seconds").into());
    }
    let non_negative = |v: Option<Value>, param: &str| -> Result<i64, DomainError> {
        let n = v.map(|v| v.into_integer(param)).transpose()?.unwrap_or(0);
        if n < 0 {
            return Err(
                DomainError::invalid("This value must be greater than or equal to 0.")
                    .with_param(param),
            );
        }
        Ok(n)
    };
    let (secs, ms) = (
        non_negative(seconds, "seconds")?,
        non_negative(millis, "millis")?,
    );
    let by = secs
        .checked_mul(1000)
        .and_then(|s| s.checked_add(ms))
        .ok_or_else(|| {
            DomainError::invalid("The clock cannot move that far.").with_param("seconds")
        })?;
    let Some((fired, now)) = auth.engine.advance_account(&auth.id, by)? else {
        return Err(DomainError::invalid(
            "This server runs on the real clock. Start it with --clock manual to move time with this endpoint.",
        )
        .into());
    };
    Ok(json_bytes(clock_body(&auth.engine, now, Some(fired))))
}

/// `POST /v1/test_helpers/topups/{id}/{succeed|fail|reverse}`, under its
/// idempotency key like any POST.
pub async fn transition(
    req: HttpRequest,
    auth: Authed,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (id, action) = path.into_inner();
    if !matches!(action.as_str(), "succeed" | "fail" | "reverse") {
        return Ok(super::not_found(req).await);
    }
    let default_code = auth.engine.planner.rules.failure_code;
    let parse = |mut p: Params| -> Result<(Transition, Expand), DomainError> {
        let code = p.take("failure_code");
        let expand = p.take("expand");
        if action != "fail" && code.is_some() {
            return Err(DomainError::unknown_param("failure_code"));
        }
        let t = match action.as_str() {
            "succeed" => Transition::Succeed,
            "reverse" => Transition::Reverse,
            _ => Transition::Fail(match code {
                Some(v) => {
                    let raw = v.into_string("failure_code")?;
                    FailureCode::parse_named(&raw).map_err(|m| {
                        DomainError::invalid(format!("Invalid failure_code: {m}"))
                            .with_param("failure_code")
                    })?
                }
                None => default_code,
            }),
        };
        p.reject_unknown()?;
        Ok((t, Expand::parse(expand, Topup::EXPANDABLE, false)?))
    };
    auth.changeable::<Topup>(&id)?;
    idempotent::post(&req, payload, &auth, parse, |(t, expand), w| {
        let moved = auth
            .engine
            .transition_topup(&w.account, &id, t, w.now, &w.cause)?;
        Ok(resource::changed(moved, &w.ctx(), &expand))
    })
    .await
}

/// Puts the calling key's account back to its start-up state (empty, or
/// the fixtures). Other keys' accounts are untouched.
pub async fn reset(
    req: HttpRequest,
    auth: Authed,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    body::form(&req, payload).await?.reject_unknown()?;
    auth.engine.reset(&auth.id);
    Ok(json_bytes(
        br#"{"object":"test_helpers.reset","reset":true}"#.to_vec(),
    ))
}

/// `GET /v1/test_helpers/webhook_deliveries`: every delivery attempt of the
/// calling account's events, newest first (`event=evt_...` to narrow it,
/// `limit` up to 100).
pub async fn deliveries(req: HttpRequest, auth: Authed) -> Result<HttpResponse, ApiError> {
    let mut p = body::query(&req)?;
    let event = p.take_non_empty("event")?;
    let limit = match p.take("limit") {
        Some(v) => crate::domain::list::Limit::parse(v.into_integer("limit")?)?.get(),
        None => 100,
    };
    p.reject_unknown()?;
    let log = auth.account.deliveries();
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"object\":\"list\",\"data\":[");
    let picked = log
        .iter()
        .rev()
        .filter(|a| event.as_deref().is_none_or(|e| *a.delivery.event == *e));
    for (i, a) in picked.take(limit).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let endpoint = match &a.delivery.target {
            Target::Endpoint { id, .. } | Target::Listen(id) => id.to_string(),
            Target::Global(n) => format!("command-line/{n}"),
        };
        let mut w = ObjectWriter::new(&mut out);
        w.str("object", "test_helpers.webhook_delivery")
            .str("event", &a.delivery.event)
            .str("endpoint", &endpoint)
            .str("url", &a.url)
            .int("attempt", i64::from(a.delivery.attempt))
            .opt_int("status", a.status.map(i64::from))
            .opt_str("error", a.error.as_deref())
            .opt_str("response", a.response.as_deref())
            .bool("succeeded", a.succeeded())
            .int("duration_ms", a.duration_ms as i64)
            .int("created", a.at.div_euclid(1000))
            .opt_int("next_attempt", a.next_at.map(ceil_seconds))
            .end();
    }
    out.extend_from_slice(b"],\"has_more\":false,\"url\":\"/v1/test_helpers/webhook_deliveries\"}");
    Ok(json_bytes(out))
}

/// `POST /v1/test_helpers/events/{id}/resend`: delivers the event again to
/// every endpoint that wants it now (as `stripe events resend`).
pub async fn resend(
    req: HttpRequest,
    auth: Authed,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    body::form(&req, payload).await?.reject_unknown()?;
    auth.changeable::<Event>(&id)?;
    let event = auth.engine.resend(&auth.account, &id)?;
    Ok(json_bytes(event.to_json(&auth.ctx(), &Expand::default())))
}

/// `GET /v1/test_helpers/stream`: server-sent events naming what happens
/// to the calling key's accounts (its own and its connected accounts'),
/// for the dashboard. See `dashboard::stream`.
pub async fn stream(req: HttpRequest, auth: Authed) -> Result<HttpResponse, ApiError> {
    body::query(&req)?.reject_unknown()?;
    if auth.id.connected.is_some() {
        return Err(ApiError::invalid(
            "The stream covers the key's own and its connected accounts: send it without the Stripe-Account header.",
        ));
    }
    let subscription = auth
        .engine
        .shared()
        .watch(auth.id.provider, &auth.id.key)
        .map_err(|e| {
            ApiError::from(e).with_status(actix_web::http::StatusCode::TOO_MANY_REQUESTS)
        })?;
    Ok(crate::dashboard::stream::response(subscription))
}
