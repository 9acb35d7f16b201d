//! Stripe's HTTP surface: routes, the headers every response carries, and
//! Stripe's 404 for anything else. Handlers parse Stripe's wire format
//! into domain values, call the engine, and render Stripe's JSON; domain
//! errors become Stripe's error object here.

mod auth;
mod balance;
mod body;
mod error;
mod events;
mod expand;
mod form;
mod idempotent;
mod listen;
mod resource;
mod respond;
mod test_helpers;
mod topups;
mod transfers;
mod webhook_endpoints;
mod webhooks;

use crate::config::{is_api_version, DEFAULT_API_VERSION};
use crate::engine::Engine;
use crate::faults::{FaultPlan, Injection};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{StatusCode, Uri};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use error::ApiError;
use std::sync::Arc;
use std::time::Instant;

pub use listen::{Deliveries, ListenHub};
pub use respond::json_bytes;
pub use webhooks::Dispatcher;

use crate::domain::balance_transaction::BalanceTransaction;
use crate::domain::event::Event;
use crate::domain::transfer::Transfer;
use crate::domain::webhook::WebhookEndpoint;

/// Header names read on every request, built once: looking a header up
/// by a string parses the name each time.
const STRIPE_VERSION: HeaderName = HeaderName::from_static("stripe-version");
const STRIPE_ACCOUNT: HeaderName = HeaderName::from_static("stripe-account");

/// What every Stripe handler shares. Each worker holds its own copy (the
/// fields are shared handles), so the count a request bumps when it takes
/// the state is its worker's alone: a count both workers bump on every
/// request moves its cache line between the cores each time.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub faults: Arc<FaultPlan>,
    /// How long a request body may take to arrive.
    pub body_timeout: std::time::Duration,
    /// `stripe listen` sessions' queues and sockets.
    pub listen: Arc<ListenHub>,
}

/// The engine as a request holds it: through its worker's [`AppState`],
/// for the same reason.
#[derive(Clone)]
pub struct EngineRef(web::Data<AppState>);

impl EngineRef {
    pub fn of(state: &web::Data<AppState>) -> Self {
        EngineRef(state.clone())
    }

    /// A handle of its own, for what outlives the request.
    pub fn shared(&self) -> Arc<Engine> {
        self.0.engine.clone()
    }
}

impl std::ops::Deref for EngineRef {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.0.engine
    }
}

/// The request id of the POST being served, for the events it causes.
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

/// A resource whose other methods get Stripe's 404.
fn resource(paths: &[&str]) -> actix_web::Resource {
    web::resource(paths.to_vec()).default_service(web::to(not_found))
}

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v1/topups")
            .service(
                resource(&[""])
                    .route(web::get().to(topups::list))
                    .route(web::post().to(topups::create)),
            )
            .default_service(web::to(topups::by_id)),
    )
    .service(resource(&["/v1/balance"]).route(web::get().to(balance::balance)))
    .service(
        resource(&["/v1/balance_transactions", "/v1/balance/history"])
            .route(web::get().to(balance::list)),
    )
    .service(
        resource(&["/v1/balance_transactions/{id}", "/v1/balance/history/{id}"])
            .route(web::get().to(resource::get::<BalanceTransaction>)),
    )
    .service(
        resource(&["/v1/webhook_endpoints"])
            .route(web::get().to(webhook_endpoints::list))
            .route(web::post().to(webhook_endpoints::create)),
    )
    .service(
        resource(&["/v1/webhook_endpoints/{id}"])
            .route(web::get().to(resource::get::<WebhookEndpoint>))
            .route(web::post().to(webhook_endpoints::update))
            .route(web::delete().to(webhook_endpoints::delete)),
    )
    .service(
        resource(&["/v1/test_helpers/webhook_deliveries"])
            .route(web::get().to(test_helpers::deliveries)),
    )
    .service(
        resource(&["/v1/test_helpers/events/{id}/resend"])
            .route(web::post().to(test_helpers::resend)),
    )
    .service(
        resource(&["/v1/transfers"])
            .route(web::get().to(transfers::list))
            .route(web::post().to(transfers::create)),
    )
    .service(
        resource(&["/v1/transfers/{id}"])
            .route(web::get().to(resource::get::<Transfer>))
            .route(web::post().to(transfers::update)),
    )
    .service(
        resource(&["/v1/transfers/{id}/reversals"])
            .route(web::get().to(transfers::reversals))
            .route(web::post().to(transfers::reverse)),
    )
    .service(
        resource(&["/v1/transfers/{id}/reversals/{reversal}"])
            .route(web::get().to(transfers::retrieve_reversal))
            .route(web::post().to(transfers::update_reversal)),
    )
    .service(resource(&["/v1/events"]).route(web::get().to(events::list)))
    .service(resource(&["/v1/events/{id}"]).route(web::get().to(resource::get::<Event>)))
    .service(resource(&["/v1/test_helpers/clock"]).route(web::get().to(test_helpers::clock)))
    .service(
        resource(&["/v1/test_helpers/clock/advance"]).route(web::post().to(test_helpers::advance)),
    )
    .service(
        resource(&["/v1/test_helpers/topups/{id}/{action}"])
            .route(web::post().to(test_helpers::transition)),
    )
    .service(resource(&["/v1/test_helpers/reset"]).route(web::post().to(test_helpers::reset)))
    .service(resource(&["/v1/test_helpers/stream"]).route(web::get().to(test_helpers::stream)))
    .service(resource(&["/v1/stripecli/sessions"]).route(web::post().to(listen::create_session)))
    .service(resource(&["/v1/stripecli/websocket"]).route(web::get().to(listen::websocket)));
}

/// Stripe's answer to an unknown URL or method.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let path = req.path();
    let hint = if path.ends_with('/') {
        "If you are trying to list objects, remove the trailing slash. If you are trying to retrieve an object, make sure you passed a valid (non-empty) identifier in your code. "
    } else {
        ""
    };
    ApiError::invalid(format!(
        "Unrecognized request URL ({}: {path}). {hint}Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
        req.method()
    ))
    .with_status(StatusCode::NOT_FOUND)
    .error_response()
}

/// Built at compile time: parsing header names on every response showed up
/// in profiles.
const fn header(name: &'static str, value: &'static str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    )
}

const STATIC_HEADERS: [(HeaderName, HeaderValue); 6] = [
    header("cache-control", "no-cache, no-store"),
    header("access-control-allow-origin", "*"),
    header("access-control-allow-credentials", "true"),
    header("access-control-allow-methods", "GET, POST, HEAD, OPTIONS, DELETE"),
    header(
        "access-control-expose-headers",
        "Request-Id, Stripe-Manage-Version, Stripe-Should-Retry, X-Stripe-External-Auth-Required, X-Stripe-Privileged-Session-Required",
    ),
    header("access-control-max-age", "300"),
];
const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");

/// `//v1/topups` is `/v1/topups` (a base URL with a trailing slash).
/// Done here rather than with a regex on every request.
fn merge_slashes(req: &mut ServiceRequest) {
    let uri = &req.head().uri;
    let mut path = String::with_capacity(uri.path().len());
    for c in uri.path().chars() {
        if !(c == '/' && path.ends_with('/')) {
            path.push(c);
        }
    }
    if let Some(q) = uri.query() {
        path.push('?');
        path.push_str(q);
    }
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = path.parse().ok();
    if let Ok(uri) = Uri::from_parts(parts) {
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
    }
}

/// Gives every request a `Request-Id`, echoes `Stripe-Version`, adds
/// Stripe's other standard headers and logs one line per request.
/// `state` is the worker's, taken once by the layer that calls this.
pub async fn stripe_headers(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    state: Option<web::Data<AppState>>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    if req.path().contains("//") {
        merge_slashes(&mut req);
    }
    // Whop's surface has its own headers, errors and faults; the
    // dashboard's page, its own.
    if crate::whop::owns(req.path()) || crate::dashboard::owns(req.path()) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let Some(state) = state else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let drawn = state.engine.request_id();
    let request_id =
        HeaderValue::from_bytes(&drawn).unwrap_or(HeaderValue::from_static("req_unknown"));
    // Only a POST needs its id inside: its events and `Original-Request`
    // name it.
    if req.method() == actix_web::http::Method::POST {
        let text = std::str::from_utf8(&drawn).unwrap_or("req_unknown");
        req.extensions_mut().insert(RequestId(Arc::from(text)));
    }
    let version = req
        .headers()
        .get(STRIPE_VERSION)
        .filter(|v| v.to_str().is_ok_and(is_api_version))
        .cloned()
        .unwrap_or(HeaderValue::from_static(DEFAULT_API_VERSION));
    // Copied only when a log line will be written.
    let logged =
        log::log_enabled!(log::Level::Info).then(|| (req.method().clone(), req.path().to_owned()));
    let injection = if state.faults.is_active() {
        state.faults.decide(req.method().as_str(), req.path())
    } else {
        Injection::default()
    };
    if let Some(delay) = injection.delay {
        tokio::time::sleep(delay).await;
    }
    // An injected error answers before any handler runs: it changes nothing.
    let mut res = match injection.error {
        Some(status) => req
            .into_response(ApiError::injected(status).error_response())
            .map_into_right_body(),
        None => next.call(req).await?.map_into_left_body(),
    };
    let headers = res.headers_mut();
    headers.insert(REQUEST_ID, request_id.clone());
    headers.insert(STRIPE_VERSION, version);
    for (name, value) in STATIC_HEADERS {
        headers.insert(name, value);
    }
    if let Some((method, path)) = logged {
        log::info!(
            "{method} {path} {} {} {:.3}ms",
            res.status().as_u16(),
            request_id.to_str().unwrap_or_default(),
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok(res)
}
